/**
 * CHECK for the main plugin (SPEC.md §2): what prevResult says vmlan made must still be there —
 * the container's interface with its MAC, its addresses and routes, the host end on the bridge, up
 * and guarded (its anti-spoofing rules, unless the attachment opted out), and the IP reservation. Routes added by later plugins are allowed (only ours are required).
 */
import type { Attachment } from "../core/resources/attachment.ts";
import type { Network } from "../core/resources/network.ts";
import type { ContainerLinker } from "../platform/container.ts";
import type { Invocation } from "./invocation.ts";
import { CniError, ERR } from "./protocol.ts";
import type { Result } from "./result.ts";

const fail = (msg: string) => new CniError(ERR.INTERNAL, msg);

export function checkLink(links: ContainerLinker, inv: Invocation, net: Network, a: Attachment, prev: Result, n: { hostIfname: string; alias: string }): void {
  const ifname = inv.env.ifname;
  const idx = (prev.interfaces ?? []).findIndex((i) => i.name === ifname && (i.sandbox ?? "") === inv.env.netns);
  if (idx < 0) throw fail(`prevResult has no interface ${ifname} in ${inv.env.netns}`);
  const want = prev.interfaces![idx]!;
  if (!links.bridgeUp(net.bridge, net.name)) throw fail(`bridge ${net.bridge} of network "${net.name}" is missing or down`);
  const state = links.inspectContainerLink({ netns: inv.env.netns, ifname, hostIfname: n.hostIfname, alias: n.alias, bridge: net.bridge });
  const c = state.container;
  if (!c) throw fail(`interface ${ifname} is missing from ${inv.env.netns}`);
  if (want.mac && c.mac !== want.mac.toLowerCase()) throw fail(`interface ${ifname} has MAC ${c.mac}, not ${want.mac}`);
  if (!c.up) throw fail(`interface ${ifname} is down`);
  if (c.mtu !== net.mtu) throw fail(`interface ${ifname} has MTU ${c.mtu}, not ${net.mtu}`);
  for (const ip of prev.ips.filter((i) => i.interface === idx)) {
    if (!c.addresses.includes(ip.address)) throw fail(`interface ${ifname} lacks address ${ip.address}`);
  }
  if (!prev.ips.some((i) => i.address === `${a.address}/${a.prefixLength}`)) throw fail(`vmlan reserved ${a.address}/${a.prefixLength}, which prevResult does not list`);
  for (const r of prev.routes ?? []) {
    // A route of ours goes through ifname with our gateway; others (a later plugin's, another interface's) are not checked.
    if (r.gw !== a.gateway && r.gw !== net.gatewayV6) continue;
    if (!c.routes.some((have) => have.dst === r.dst && have.gw === r.gw)) throw fail(`route ${r.dst} via ${r.gw} is missing in ${inv.env.netns}`);
  }
  const h = state.host;
  if (!h || !h.ours) throw fail(`host end ${n.hostIfname} of ${ifname} is missing`);
  if (!h.onBridge) throw fail(`host end ${n.hostIfname} is not a port of ${net.bridge}`);
  if (!h.up) throw fail(`host end ${n.hostIfname} is down`);
  if (!h.guarded && !a.allowSpoofing) throw fail(`host end ${n.hostIfname} has lost its anti-spoofing rules (chain port_${net.bridge}_${h.index} of table bridge vmlan)`);
}
