/**
 * What vmlan made on this host, whichever state dir made it (`vmlan system prune`): bridges marked
 * as ours (IFLA_IFALIAS "vmlan:<network>") and the bridges vmlan's nft tables have rules for (a
 * bridge gone, its NAT or anti-spoofing rules left). The caller decides which of them its store no
 * longer knows; removal is what `network rm` does for a network.
 */
import type { HostNetworkObjects } from "../types.ts";
import { ALIAS_PREFIX, removeBridge } from "./bridge.ts";
import { isIfname } from "./ip.ts";
import { listLinks } from "./links.ts";
import { TABLE_NAME } from "./nat-rules.ts";
import { teardownNat } from "./nat.ts";
import { withNetlink } from "./netlink.ts";
import { runNft } from "./nft.ts";
import { guardInventory, guardTeardownScripts } from "./port-guard-table.ts";

/** The network chains' prefixes in `inet vmlan` (nat-rules.ts MAPS): `from_<bridge>` and so on. */
const CHAIN_RE = /^(?:from|to|snat|guard)_(.+)$/;

/** Bridges that `inet vmlan` has network chains for (names checked by the caller). */
function natBridges(): Set<string> {
  const r = runNft(["-j", "list", "chains", "inet"]);
  if (r.code !== 0) return new Set();
  const items = (JSON.parse(r.stdout) as { nftables: Array<{ chain?: { table: string; name: string } }> }).nftables;
  return new Set(items.flatMap((i) => {
    const m = i.chain?.table === TABLE_NAME ? CHAIN_RE.exec(i.chain.name) : null;
    return m ? [m[1]!] : [];
  }));
}

export function listHostNetworks(): HostNetworkObjects[] {
  const links = withNetlink((nl) => listLinks(nl));
  const out = new Map<string, HostNetworkObjects>();
  for (const l of links) {
    if (l.kind !== "bridge" || !l.alias?.startsWith(ALIAS_PREFIX) || !isIfname(l.name)) continue;
    const ports = links.filter((p) => p.master === l.index).map((p) => p.name);
    out.set(l.name, { bridge: l.name, network: l.alias.slice(ALIAS_PREFIX.length), bridgeExists: true, ports, rules: false });
  }
  const inv = guardInventory();
  // Only names vmlan could have made: a chain or set someone else named like ours is no bridge's.
  for (const b of [...natBridges(), ...inv.networks, ...inv.ports.keys()].filter(isIfname)) {
    const known = out.get(b);
    if (known) known.rules = true;
    // Rules of a bridge that is gone, or is not marked as ours (then it is not ours to remove: rules only).
    else out.set(b, { bridge: b, network: null, bridgeExists: links.some((l) => l.name === b), ports: [], rules: true });
  }
  return [...out.values()].sort((a, b) => a.bridge.localeCompare(b.bridge));
}

/** Removes a leftover as `network rm` would: the bridge (only when marked as ours), then its rules. */
export function removeHostNetwork(o: HostNetworkObjects): void {
  if (o.bridgeExists && o.network !== null) withNetlink((nl) => removeBridge(nl, o.bridge, o.network!));
  if (o.rules) teardownNat(o.bridge, guardTeardownScripts()(o.bridge));
}
