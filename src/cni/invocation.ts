/** One plugin call: the environment, the parsed config, its spec version and what vmlan works on. */
import type { Attachment } from "../core/resources/attachment.ts";
import { dnsDomainOf, type Network } from "../core/resources/network.ts";
import type { PluginConf, Target } from "./config.ts";
import { type CniEnv, CniError, ERR, type SpecVersion } from "./protocol.ts";
import { decodeResult, type Result } from "./result.ts";

export interface Invocation { env: CniEnv; conf: PluginConf; version: SpecVersion; target: Target }

export const keyOf = (inv: Invocation) => ({ containerId: inv.env.containerId, ifname: inv.env.ifname });

/**
 * Addresses, routes and DNS of a lease. Shared networks get a default route via the gateway (they
 * NAT to the outside); host-only networks get none: their subnet is on-link and nothing is beyond.
 * DNS points at the gateway, where vmlan's DNS answers the network's VMs and containers by name.
 */
export function leaseResult(net: Network, a: Attachment, iface?: number): Result {
  if (a.address === null || a.prefixLength === null || a.gateway === null) {
    throw new CniError(ERR.INVALID_CONFIG, `network "${net.name}" is bridged: its addresses come from the LAN's DHCP server, not from vmlan; use another network (or the dhcp IPAM plugin on a bridge)`);
  }
  const at = iface === undefined ? {} : { interface: iface };
  const ips = [{ address: `${a.address}/${a.prefixLength}`, gateway: a.gateway, ...at }];
  const routes = net.mode === "shared" ? [{ dst: "0.0.0.0/0", gw: a.gateway }] : [];
  if (a.addressV6 && net.gatewayV6) {
    ips.push({ address: `${a.addressV6}/${a.prefixLengthV6}`, gateway: net.gatewayV6, ...at });
    if (net.mode === "shared") routes.push({ dst: "::/0", gw: net.gatewayV6 });
  }
  const domain = dnsDomainOf(net);
  return { ips, routes, dns: { nameservers: [net.gateway], domain, search: [domain] } };
}

/** The prevResult CHECK must compare against (required there: SPEC.md §2 CHECK). */
export function prevResultOf(inv: Invocation, required: boolean): Result | null {
  if (!inv.conf.prevResult) {
    if (required) throw new CniError(ERR.INVALID_CONFIG, "required prevResult missing");
    return null;
  }
  return decodeResult(inv.conf.prevResult as Record<string, unknown>);
}
