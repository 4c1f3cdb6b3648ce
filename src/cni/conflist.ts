/**
 * `vmlan cni config NETWORK`: a ready network configuration list (SPEC.md §1) for a runtime's CNI
 * config dir. `vmlan` = vmlan is the plugin; `bridge` = Debian's/upstream's bridge plugin on vmlan's
 * bridge with vmlan as IPAM (bridge copies `dns` from its own config, not from IPAM, so it is
 * written out here).
 */
import { dnsDomainOf, type Network } from "../core/resources/network.ts";

export type ConflistFlavor = "vmlan" | "bridge";

export function conflistFor(net: Network, o: { flavor: ConflistFlavor; name?: string; cniVersion: string; stateDir: string }): Record<string, unknown> {
  const vmlanKeys = { network: net.name, stateDir: o.stateDir };
  const domain = dnsDomainOf(net);
  const plugin = o.flavor === "vmlan"
    ? { type: "vmlan", ...vmlanKeys }
    : {
      type: "bridge", bridge: net.bridge, isGateway: false, ipMasq: false, mtu: net.mtu,
      ipam: { type: "vmlan", ...vmlanKeys },
      dns: { nameservers: [net.gateway], domain, search: [domain] },
    };
  return { cniVersion: o.cniVersion, name: o.name ?? net.name, plugins: [plugin] };
}
