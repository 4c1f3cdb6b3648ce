/**
 * The nftables layout of shared and host-only networks (issue #15 §4): ONE table, `inet vmlan`,
 * whose few base chains dispatch by interface name through verdict maps to each network's own
 * regular chains, so a packet costs one map lookup per hook however many networks there are (one
 * base chain per network made every forwarded packet walk all of them: forwarding halved at 200).
 *
 *   base chain   hook (priority)              map         → the network's chain
 *   forward      filter forward (filter)      fwd_from    iifname → from_<bridge>
 *                                             fwd_to      oifname → to_<bridge>
 *   postrouting  nat postrouting (srcnat)     snat_from   iifname → snat_<bridge>   (shared only)
 *   guard        filter prerouting (raw)      guard_from  iifname → guard_<bridge>
 *
 * A network owns its chains and its elements, all named by its bridge, so adding or removing it
 * touches nothing of another network's, and removing needs nothing but the bridge name. Published
 * ports' chains (ports.ts) are base chains of this table too, `ports_{pre,out,post}_<bridge>`, and
 * exist only while the network publishes a port: NAT chains are consulted once per connection, not
 * per packet. Every value is validated before it is interpolated.
 */
import { UsageError } from "../../core/errors.ts";
import { checkIfname, parseNetwork } from "./ip.ts";

export interface NatSpec {
  bridge: string;
  mode: "shared" | "host";
  subnet: string;
  subnetV6: string | null;
}

export const TABLE_NAME = "vmlan";
export const TABLE = `inet ${TABLE_NAME}`;

/** Every vmlan bridge starts with this; used to isolate networks from each other. */
export const BRIDGE_WILDCARD = "vl-*";

/** Base chain → its declaration and the interface maps it dispatches through (in this order). */
const BASE = {
  forward: { decl: "type filter hook forward priority filter; policy accept;", maps: [["iifname", "fwd_from"], ["oifname", "fwd_to"]] },
  postrouting: { decl: "type nat hook postrouting priority srcnat; policy accept;", maps: [["iifname", "snat_from"]] },
  guard: { decl: "type filter hook prerouting priority raw; policy accept;", maps: [["iifname", "guard_from"]] },
} as const;

/** Map → the prefix of the network chains its elements jump to. */
const MAPS = { fwd_from: "from", fwd_to: "to", snat_from: "snat", guard_from: "guard" } as const;
type MapName = keyof typeof MAPS;

/** A network's regular chain behind `map`, e.g. from_vl-default (nft names allow '-' and '.'). */
export const networkChain = (map: MapName, bridge: string) => `${MAPS[map]}_${checkIfname(bridge)}`;

/** The published ports' base chains (ports.ts fills them), per network. */
export const PORT_CHAINS = {
  ports_pre: "type nat hook prerouting priority dstnat; policy accept;",
  ports_out: "type nat hook output priority -100; policy accept;",
  ports_post: "type nat hook postrouting priority srcnat; policy accept;",
} as const;
export type PortChain = keyof typeof PORT_CHAINS;
export const portChain = (name: PortChain, bridge: string) => `${name}_${checkIfname(bridge)}`;

/**
 * The table, its maps and base chains. Idempotent: the base chains are flushed and refilled in the
 * same transaction (so a damaged skeleton is repaired by any setup), never their maps' elements.
 */
export function skeletonScript(): string {
  const lines: string[] = [];
  for (const [name, b] of Object.entries(BASE)) {
    lines.push(`add chain ${TABLE} ${name} { ${b.decl} }`, `flush chain ${TABLE} ${name}`);
    for (const [key, map] of b.maps) lines.push(`add rule ${TABLE} ${name} ${key} vmap @${map}`);
  }
  return `${mapsScript()}${lines.join("\n")}\n`;
}

/** The table and its maps only: what a teardown's element lines need (nothing that filters). */
export function mapsScript(): string {
  return `${[`add table ${TABLE}`, ...Object.keys(MAPS).map((m) => `add map ${TABLE} ${m} { type ifname : verdict; }`)].join("\n")}\n`;
}

/** Each network chain's rules for `spec` (null: the network has no such chain, e.g. host mode's NAT). */
function networkRules(spec: NatSpec): Record<MapName, string[] | null> {
  if (spec.mode !== "shared" && spec.mode !== "host") throw new UsageError(`invalid network mode "${String(spec.mode)}": use shared or host`);
  const b = `"${checkIfname(spec.bridge)}"`;
  const v4 = parseNetwork(spec.subnet).text;
  // A guest never addresses the host's loopback, nor sends from it: route_localnet on the bridge
  // (for 127.0.0.1 published ports) would otherwise let it reach services bound to 127.0.0.1.
  // Counted, so `nft list` shows a guest that tried.
  const guard = ["ip daddr 127.0.0.0/8 counter drop", "ip saddr 127.0.0.0/8 counter drop"];
  // Frames between guests of the same network (seen here only with br_netfilter loaded); published
  // ports (DNAT to a guest, ports.ts), both directions, also to and from other networks.
  const from = [`oifname ${b} accept`, "ct status dnat accept"];
  const to = ["ct status dnat accept"];
  if (spec.mode === "host") {
    return { fwd_from: [...from, "drop"], fwd_to: [...to, "drop"], snat_from: null, guard_from: guard }; // nothing routed in or out
  }
  const snat = [`ip saddr ${v4} ip daddr != ${v4} masquerade`];
  if (spec.subnetV6) {
    const v6 = parseNetwork(spec.subnetV6).text;
    snat.push(`ip6 saddr ${v6} ip6 daddr != ${v6} masquerade`);
  }
  return {
    fwd_from: [...from, `oifname "${BRIDGE_WILDCARD}" drop`], // networks are isolated from each other
    fwd_to: [...to, "ct state established,related accept", "drop"], // no new connections in from anywhere else
    snat_from: snat,
    guard_from: guard,
  };
}

/** Lines that remove `chain` (and the element of `map` that jumps to it) whether or not they exist. */
function dropLines(bridge: string, map: MapName | null, chain: string, decl = ""): string[] {
  const c = `${TABLE} ${chain}`;
  const lines = [`add chain ${c}${decl ? ` { ${decl} }` : ""}`];
  if (map) lines.push(`add element ${TABLE} ${map} { "${bridge}" : jump ${chain} }`, `delete element ${TABLE} ${map} { "${bridge}" }`);
  lines.push(`flush chain ${c}`, `delete chain ${c}`);
  return lines;
}

/**
 * The network's chains and elements (skeletonScript must come first in the same transaction). It
 * replaces the network's chains (add, flush, fill) and leaves its port chains alone, so published
 * ports survive `system start`, `vm run` and every other setup. One transaction: never half applied.
 */
export function networkScript(spec: NatSpec): string {
  const rules = networkRules(spec);
  const lines: string[] = [];
  for (const [map, rs] of Object.entries(rules) as Array<[MapName, string[] | null]>) {
    const chain = networkChain(map, spec.bridge);
    if (rs === null) { lines.push(...dropLines(spec.bridge, map, chain)); continue; } // a shared network made host-only loses its NAT
    lines.push(`add chain ${TABLE} ${chain}`, `flush chain ${TABLE} ${chain}`);
    for (const r of rs) lines.push(`add rule ${TABLE} ${chain} ${r}`);
    lines.push(`add element ${TABLE} ${map} { "${spec.bridge}" : jump ${chain} }`);
  }
  return `${lines.join("\n")}\n`;
}

/** Removes everything of the network from the table (ports too); absent parts are fine. Needs the table and its maps. */
export function networkTeardownScript(bridge: string): string {
  checkIfname(bridge);
  const lines = (Object.keys(MAPS) as MapName[]).flatMap((m) => dropLines(bridge, m, networkChain(m, bridge)));
  for (const [name, decl] of Object.entries(PORT_CHAINS)) lines.push(...dropLines(bridge, null, portChain(name as PortChain, bridge), decl));
  return `${lines.join("\n")}\n`;
}
