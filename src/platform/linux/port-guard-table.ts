/**
 * The one anti-spoofing table (`bridge vmlan`, layout in port-guard-rules.ts) as a whole: what is in
 * it (chain and set names and the MACs in the sets, never the rules: three small listings), a
 * network's part of a setup or teardown transaction (with the retirement of an older vmlan's table,
 * port-guard-legacy.ts), and the sweep of rules whose port is gone.
 */
import { libc } from "../../../ffi/libc/load.ts";
import { applyScript, runNft } from "./nft.ts";
import { bridgeTables, deleteLegacyGuardScript, legacyBridges, legacyGuardTable, retireLegacyGuardScript } from "./port-guard-legacy.ts";
import { claimedSet, GUARD_TABLE_NAME, networkTeardownScript, parseClaimedSet, parsePortChain, portChain, removePortScript, tableScript } from "./port-guard-rules.ts";

/** Whether an interface with this index exists (in this network namespace). */
export function ifindexExists(n: number): boolean {
  return libc().if_indextoname(n, new Uint8Array(16)) !== null;
}
const bridgeExists = (name: string) => libc().if_nametoindex(Buffer.from(`${name}\0`)) !== 0;

export interface GuardInventory {
  /** Bridge → its guarded ports: ifindex → the MAC in a learning port's set, or null (none yet, or pinned: portMac). */
  ports: Map<string, Map<number, string | null>>;
  /** The bridges whose claimed set is in the table (the networks set up in it). */
  networks: Set<string>;
  /** The chains the `ports` map jumps to. */
  dispatched: Set<string>;
}

type Item = { chain?: { table: string; name: string }; set?: { table: string; name: string; elem?: unknown[] }; map?: { elem?: Array<[unknown, { jump?: { target: string } }]> } };
function items(args: string[]): Item[] {
  const r = runNft(["-j", ...args]);
  return r.code === 0 ? (JSON.parse(r.stdout) as { nftables: Item[] }).nftables : [];
}

/** What the table holds; empty when there is no table. */
export function guardInventory(): GuardInventory {
  const inv: GuardInventory = { ports: new Map(), networks: new Set(), dispatched: new Set() };
  const macs = new Map<string, string>();
  for (const i of items(["list", "sets", "bridge"])) {
    if (i.set?.table !== GUARD_TABLE_NAME) continue;
    const b = parseClaimedSet(i.set.name);
    if (b !== null) inv.networks.add(b);
    else if (typeof i.set.elem?.[0] === "string") macs.set(i.set.name, i.set.elem[0]);
  }
  for (const i of items(["list", "chains", "bridge"])) {
    const p = i.chain?.table === GUARD_TABLE_NAME ? parsePortChain(i.chain.name) : null;
    if (!p) continue;
    if (!inv.ports.has(p.bridge)) inv.ports.set(p.bridge, new Map());
    inv.ports.get(p.bridge)!.set(p.ifindex, macs.get(`mac_${p.bridge}_${p.ifindex}`) ?? null);
  }
  for (const i of items(["list", "map", "bridge", GUARD_TABLE_NAME, "ports"])) {
    for (const [, v] of i.map?.elem ?? []) if (v.jump) inv.dispatched.add(v.jump.target);
  }
  return inv;
}

/**
 * The MAC port `n` holds: its set's element (learning, from the inventory), or the one its rules
 * compare with (pinned: no set; read from its chain, only for a port being removed).
 */
export function portMac(inv: GuardInventory, bridge: string, n: number): string | null {
  const learned = inv.ports.get(bridge)?.get(n) ?? null;
  if (learned !== null) return learned;
  const r = runNft(["list", "chain", "bridge", GUARD_TABLE_NAME, portChain(bridge, n)]);
  return r.code === 0 ? (/\bether saddr != ([0-9a-f]{2}(?::[0-9a-f]{2}){5}) drop\b/.exec(r.stdout)?.[1] ?? null) : null;
}

export const isDispatchedIn = (inv: GuardInventory, bridge: string, n: number) => inv.dispatched.has(portChain(bridge, n));

/**
 * The network's part of a setup transaction: the table's skeleton, its claimed set, and its old
 * table retired (its live ports moved). `tables`: bridgeTables(), read once per transaction.
 */
export function guardSetupScript(bridge: string, tables = bridgeTables()): string {
  try {
    return tableScript(bridge) + retireLegacyGuardScript(bridge, tables, ifindexExists);
  } catch (e) {
    // Rules this vmlan does not know: the old table stays and keeps guarding its ports (it costs a base chain, not safety).
    process.stderr.write(`vmlan: keeping table bridge vmlan_${bridge} of an older vmlan: ${(e as Error).message}\n`);
    return tableScript(bridge);
  }
}

/** For many networks at once (system start): the listing of tables read once. */
export function guardSetupScripts(): (bridge: string) => string {
  const tables = bridgeTables();
  return (bridge) => guardSetupScript(bridge, tables);
}

/** The network's part of a teardown transaction: its ports, its claimed set, its old table; "" when it has none. */
function teardownScript(bridge: string, inv: GuardInventory, tables: Set<string>): string {
  const ports = [...(inv.ports.get(bridge) ?? new Map()).keys()].map((n) => ({ ifindex: n, dispatched: isDispatchedIn(inv, bridge, n) }));
  const own = ports.length > 0 || inv.networks.has(bridge) ? networkTeardownScript(bridge, ports) : "";
  return own + deleteLegacyGuardScript(bridge, tables);
}

/** For removing networks (one or many): the table listed once, then one script per bridge. */
export function guardTeardownScripts(): (bridge: string) => string {
  const inv = guardInventory();
  const tables = bridgeTables();
  return (bridge) => teardownScript(bridge, inv, tables);
}

/**
 * Deletes the table once no network and no port is left in it (`system stop` leaves nothing): its
 * base chain would still see every bridged frame. Not atomic with the listing: a network set up
 * between the two would lose its rules, so only `system stop` (which takes every network) calls it.
 */
export function removeGuardTableIfEmpty(): void {
  const inv = guardInventory();
  if (inv.networks.size > 0 || inv.ports.size > 0) return;
  if (!bridgeTables().has(GUARD_TABLE_NAME)) return;
  applyScript(`delete table bridge ${GUARD_TABLE_NAME}\n`, "remove the empty anti-spoofing table");
}

/** The lines that remove `bridge`'s ports that are gone, and its claimed set if its bridge is gone with them; "". */
function sweepScript(bridge: string, inv: GuardInventory): { script: string; gone: number } {
  const ports = inv.ports.get(bridge) ?? new Map<number, string | null>();
  const gone = [...ports].filter(([n]) => !ifindexExists(n));
  let script = gone.map(([n]) => removePortScript(bridge, n, portMac(inv, bridge, n), isDispatchedIn(inv, bridge, n))).join("");
  // A release after `network rm` (a helper that outlived its network) recreates the claimed set: junk once nothing of it is left.
  if (gone.length === ports.size && inv.networks.has(bridge) && !bridgeExists(bridge)) {
    script += `delete set bridge ${GUARD_TABLE_NAME} ${claimedSet(bridge)}\n`;
  }
  return { script, gone: gone.length };
}

/** Removes the rules of every port of `bridge` whose interface is gone; returns how many. */
export function sweepGuards(bridge: string, inv = guardInventory()): number {
  const { script, gone } = sweepScript(bridge, inv);
  if (script) applyScript(script, `remove the rules of ${gone} gone port(s) on ${bridge}`);
  return gone;
}

/**
 * Sweeps every network in the table (system start, the services daemon): one listing, a transaction
 * per network with something to remove. An older vmlan's table whose bridge is gone goes too (no
 * setup will retire it; its base chain would see every bridged frame).
 */
export function sweepAllGuards(): number {
  const inv = guardInventory();
  const stale = legacyBridges(bridgeTables()).filter((b) => !bridgeExists(b));
  if (stale.length) applyScript(stale.map((b) => `delete table bridge ${legacyGuardTable(b)}\n`).join(""), `remove ${stale.length} anti-spoofing table(s) of an older vmlan`);
  return [...new Set([...inv.ports.keys(), ...inv.networks])].reduce((n, b) => n + sweepGuards(b, inv), 0);
}
