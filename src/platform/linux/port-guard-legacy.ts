/**
 * The anti-spoofing layout before issue #15 §4: one table per network, `bridge vmlan_<bridge>`,
 * each with its own base chain `guard` (prerouting, -300, `iif vmap @ports`), a map `ports`, per
 * port a chain `port_<ifindex>` and a set `mac_<ifindex>`, and a set `claimed`. A host upgraded
 * while networks were up still has them in the kernel, with the rules of ports that are in use.
 * The network's next setup (network create, `system start`, a helper bringing it up) retires its old
 * table in the same transaction as the new layout: the live ports' rules move into the one table
 * (their rules as the kernel lists them, with the names of the new layout; a learned MAC kept, so a
 * guest cannot learn another), the rules of ports that are gone are dropped, then the old table
 * goes. Never a moment without rules, never a moment with both. Teardown takes the old table whole.
 */
import { HostError } from "../../core/errors.ts";
import { checkIfname } from "./ip.ts";
import { runNft } from "./nft.ts";
import { checkMac, claimedSet, GUARD_TABLE_NAME, macSet, portChain } from "./port-guard-rules.ts";

const T = `bridge ${GUARD_TABLE_NAME}`;
export const legacyGuardTable = (bridge: string) => `vmlan_${checkIfname(bridge)}`;

/** The names of the bridge-family tables in this namespace (one cheap read: tables only). */
export function bridgeTables(): Set<string> {
  const r = runNft(["-j", "list", "tables", "bridge"]);
  if (r.code !== 0) return new Set();
  const items = (JSON.parse(r.stdout) as { nftables: Array<{ table?: { name: string } }> }).nftables;
  return new Set(items.flatMap((i) => (i.table ? [i.table.name] : [])));
}

/** The bridges that still have an old table, from bridgeTables(). */
export const legacyBridges = (tables: Set<string>) => [...tables].flatMap((t) => /^vmlan_[A-Za-z0-9_.-]{1,15}$/.test(t) ? [t.slice("vmlan_".length)] : []);

export interface LegacyTable {
  /** `nft list table` text: the chains' rules as nft prints them (which nft parses back). */
  listing: string;
  /** The sets' elements (`mac_<ifindex>`, `claimed`), from the JSON listing. */
  sets: Map<string, string[]>;
}

/** The port chains of a listing and their rules, in order (the base chain and anything else skipped). */
function portRules(listing: string): Map<number, string[]> {
  const out = new Map<number, string[]>();
  let current: string[] | null = null;
  for (const line of listing.split("\n")) {
    const start = /^\tchain (\S+) \{$/.exec(line);
    if (start) {
      const m = /^port_(\d+)$/.exec(start[1]!);
      current = m ? [] : null;
      if (m) out.set(Number(m[1]), current!);
    } else if (line === "\t}") current = null;
    else if (current && line.startsWith("\t\t") && line.trim()) current.push(line.trim());
  }
  return out;
}

/** A rule of old port `n` with the new layout's names; throws on a reference the old layout never made. */
function rename(bridge: string, n: number, rule: string): string {
  const out = rule.replace(new RegExp(`@mac_${n}(?![\\w.-])`, "g"), `@${macSet(bridge, n)}`).replace(/@claimed(?![\w.-])/g, `@${claimedSet(bridge)}`);
  // Any other '@' must be a raw payload expression (@ll, @nh, @th, @ih), never another set.
  const rest = out.replaceAll(`@${macSet(bridge, n)}`, "").replaceAll(`@${claimedSet(bridge)}`, "");
  if (/@(?!(?:ll|nh|th|ih),)[A-Za-z_]/.test(rest)) throw new HostError(`cannot move the anti-spoofing rules of port ${n} out of table bridge ${legacyGuardTable(bridge)}: unknown rule "${rule}"`);
  return out;
}

/**
 * Pure: lines that move the old table's ports whose interface still exists (`alive`) into the one
 * table, and delete the old table. The new layout's skeleton and the network's claimed set
 * (tableScript) must come first in the same transaction. Only the pinned MACs of ports that moved
 * stay claimed.
 */
export function retireScript(bridge: string, old: LegacyTable, alive: (ifindex: number) => boolean): string {
  const lines: string[] = [];
  const moved: string[] = [];
  for (const [n, rules] of portRules(old.listing)) {
    if (!alive(n)) continue; // a gone port's rules: dropped with the table
    const chain = portChain(bridge, n);
    const set = macSet(bridge, n);
    const mac = (old.sets.get(`mac_${n}`) ?? []).map(checkMac);
    lines.push(`add set ${T} ${set} { type ether_addr; size 1; flags dynamic; }`, `add chain ${T} ${chain}`, `flush chain ${T} ${chain}`);
    if (mac.length) lines.push(`flush set ${T} ${set}`, `add element ${T} ${set} { ${mac.join(", ")} }`);
    for (const r of rules) lines.push(`add rule ${T} ${chain} ${rename(bridge, n, r)}`);
    lines.push(`add element ${T} ports { ${n} : jump ${chain} }`);
    moved.push(...mac);
  }
  const claimed = (old.sets.get("claimed") ?? []).map(checkMac).filter((m) => moved.includes(m));
  if (claimed.length) lines.push(`add element ${T} ${claimedSet(bridge)} { ${claimed.join(", ")} }`);
  lines.push(`delete table bridge ${legacyGuardTable(bridge)}`, "");
  return lines.join("\n");
}

/** The old table as the kernel holds it (two listings: its rules as text, its sets' elements as JSON). */
function readLegacy(bridge: string): LegacyTable | null {
  const t = legacyGuardTable(bridge);
  const text = runNft(["list", "table", "bridge", t]);
  const json = runNft(["-j", "list", "table", "bridge", t]);
  if (text.code !== 0 || json.code !== 0) return null;
  const items = (JSON.parse(json.stdout) as { nftables: Array<{ set?: { name: string; elem?: unknown[] } }> }).nftables;
  const elem = (e: unknown) => (typeof e === "string" ? e : String((e as { elem?: { val?: unknown } }).elem?.val ?? ""));
  const sets = new Map(items.flatMap((i) => (i.set ? [[i.set.name, (i.set.elem ?? []).map(elem)] as [string, string[]]] : [])));
  return { listing: text.stdout, sets };
}

/**
 * The lines that retire the network's old table (after tableScript, in the same transaction); ""
 * when there is none. `tables`: bridgeTables(), read once per transaction; `alive`: whether an
 * interface with that index exists.
 */
export function retireLegacyGuardScript(bridge: string, tables: Set<string>, alive: (ifindex: number) => boolean): string {
  if (!tables.has(legacyGuardTable(bridge))) return "";
  const old = readLegacy(bridge);
  return old ? retireScript(bridge, old, alive) : "";
}

/** The whole old table of a network that goes away; "" when there is none. */
export const deleteLegacyGuardScript = (bridge: string, tables: Set<string>) =>
  tables.has(legacyGuardTable(bridge)) ? `delete table bridge ${legacyGuardTable(bridge)}\n` : "";
