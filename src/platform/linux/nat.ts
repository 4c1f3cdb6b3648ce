/**
 * NAT and isolation rules of shared and host-only networks, in the one table `inet vmlan` whose
 * layout nat-rules.ts describes, through nft.ts (libnftables in-process, or the binary): a
 * network's setup adds or replaces only its own chains and map elements, its teardown removes only
 * those, each in one nft transaction (never half applied), and both retire the layout before it
 * (per-network tables, nat-legacy.ts) in that same transaction.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { HostError } from "../../core/errors.ts";
import { checkIfname } from "./ip.ts";
import { applyScript, runNft } from "./nft.ts";
import { type NatSpec, mapsScript, networkChain, networkScript, networkTeardownScript, skeletonScript, TABLE, TABLE_NAME } from "./nat-rules.ts";
import { deleteLegacyScript, hasTable, inetTables, LEGACY_NETWORK_CHAINS, retireLegacyScript } from "./nat-legacy.ts";

export type { NatSpec } from "./nat-rules.ts";

/** Writes "1" to a sysctl under /proc/sys when it is not 1 already (per network namespace). */
function enableSysctl(path: string): void {
  if (!existsSync(path)) return; // e.g. IPv6 disabled on this host
  if (readFileSync(path, "utf8").trim() === "1") return;
  try {
    writeFileSync(path, "1\n");
  } catch (cause) {
    throw new HostError(`cannot enable forwarding in ${path}: ${(cause as Error).message}`, { cause });
  }
}

/** Shared mode turns on IP forwarding (v6 too with a prefix); it stays on when a network goes. */
function enableForwarding(specs: NatSpec[]): void {
  if (specs.some((s) => s.mode === "shared")) enableSysctl("/proc/sys/net/ipv4/ip_forward");
  if (specs.some((s) => s.mode === "shared" && s.subnetV6)) enableSysctl("/proc/sys/net/ipv6/conf/all/forwarding");
}

/** The network's part of one setup transaction (after the skeleton), its old table's chains retired. */
const setupPart = (spec: NatSpec, tables: Set<string>) => networkScript(spec) + retireLegacyScript(spec.bridge, tables, LEGACY_NETWORK_CHAINS);

/** The network's part of one teardown transaction: its chains and elements, and its old table. */
const teardownPart = (bridge: string, tables: Set<string>) => (hasTable(tables) ? networkTeardownScript(bridge) : "") + deleteLegacyScript(bridge, tables);

/** A teardown adds no base chain (nothing that filters), and nothing at all when the table is not there. */
const mapsPrefix = (tables: Set<string>) => (hasTable(tables) ? mapsScript() : "");

/** Installs (or replaces) the network's rules; shared mode also turns on IP forwarding. */
/** `extra`: more nft commands applied in the same transaction (the network's part of the anti-spoofing table). */
export function setupNat(spec: NatSpec, extra = ""): void {
  const script = skeletonScript() + setupPart(spec, inetTables()) + extra;
  enableForwarding([spec]);
  applyScript(script, `install rules for ${spec.bridge}`);
}

/** Removes the network's rules; missing ones are fine. Forwarding stays on: others may need it. */
export function teardownNat(bridge: string, extra = ""): void {
  const tables = inetTables();
  const script = mapsPrefix(tables) + teardownPart(bridge, tables) + extra;
  if (script) applyScript(script, `remove rules for ${bridge}`);
}

/**
 * Runs every item's script in one `nft -f` (one kernel transaction), after `prefix`: an nft call
 * costs time in proportion to every table already loaded, so one per network makes `system start`
 * quadratic (200 networks: minutes). If the whole batch fails, each item runs alone (with the
 * prefix), so a failure is reported against its own network and the others still apply.
 */
function applyMany<T>(items: T[], prefix: string, script: (x: T) => string, what: (x: T) => string): Array<Error | null> {
  if (items.length === 0) return [];
  const scripts = items.map((x) => { try { return script(x); } catch (e) { return e as Error; } });
  const good = scripts.flatMap((s) => (typeof s === "string" ? [s] : []));
  try {
    if (good.some((s) => s !== "")) applyScript(prefix + good.join(""), `apply the rules of ${good.length} networks`);
    return scripts.map((s) => (typeof s === "string" ? null : s));
  } catch {
    return scripts.map((s, i) => {
      if (typeof s !== "string") return s;
      try {
        if (s !== "") applyScript(prefix + s, what(items[i]!));
        return null;
      } catch (e) {
        return e as Error;
      }
    });
  }
}

/** setupNat for many networks in one nft transaction; one result per spec (null = installed). `extra` as for setupNat. */
export function setupNatMany(specs: NatSpec[], extra: (s: NatSpec) => string = () => ""): Array<Error | null> {
  try {
    enableForwarding(specs);
  } catch (e) {
    return specs.map(() => e as Error);
  }
  const tables = inetTables();
  return applyMany(specs, skeletonScript(), (s) => setupPart(s, tables) + extra(s), (s) => `install rules for ${s.bridge}`);
}

/**
 * teardownNat for many bridges in one nft transaction; one result per bridge (null = removed or
 * absent). Then the table itself goes if no network is left in it (`system stop` leaves nothing).
 */
export function teardownNatMany(bridges: string[], extra: (bridge: string) => string = () => ""): Array<Error | null> {
  const tables = inetTables();
  const out = applyMany(bridges, mapsPrefix(tables), (b) => teardownPart(b, tables) + extra(b), (b) => `remove rules for ${b}`);
  if (hasTable(tables)) removeTableIfEmpty();
  return out;
}

/** Deletes the table once no network has chains in it: the base chains alone would still see every packet. */
function removeTableIfEmpty(): void {
  const r = runNft(["-j", "list", "table", "inet", TABLE_NAME]);
  if (r.code !== 0) return;
  const items = (JSON.parse(r.stdout) as { nftables: Array<{ chain?: { name: string }; map?: { elem?: unknown[] } }> }).nftables;
  const busy = items.some((i) => (i.chain && !["forward", "postrouting", "guard"].includes(i.chain.name)) || (i.map?.elem?.length ?? 0) > 0);
  if (!busy) applyScript(`delete table ${TABLE}\n`, "remove the empty vmlan table");
}

/** One nft call answering whether every command of `script` succeeds (get/list only), and what it printed. */
function query(script: string): { ok: boolean; out: string } {
  const r = runNft(["-f", "-"], script);
  return { ok: r.code === 0, out: r.stdout };
}

/**
 * Whether the network's rules are dispatched to, and whether it masquerades: one nft call when all
 * is well, two when something is missing. Never throws when nft is present.
 */
export function natStatus(bridge: string, shared = true): { present: boolean; masquerade: boolean } {
  const el = (map: string) => `get element ${TABLE} ${map} { "${checkIfname(bridge)}" }\n`;
  const dispatched = el("fwd_from") + el("fwd_to");
  if (shared) {
    const all = query(`${dispatched}${el("snat_from")}list chain ${TABLE} ${networkChain("snat_from", bridge)}\n`);
    if (all.ok) return { present: true, masquerade: all.out.includes("masquerade") };
  }
  return { present: query(dispatched).ok, masquerade: false };
}
