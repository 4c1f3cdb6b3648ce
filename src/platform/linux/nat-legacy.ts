/**
 * The layout before issue #15 §4: one table per network, `inet vmlan_<bridge>`, with base chains
 * forward, postrouting and guard, and the published ports' ports_pre, ports_out, ports_post. A host
 * upgraded while networks were up still has them in the kernel; left there they would NAT and
 * filter every packet a second time. Each setup of a network retires what it replaces in the same
 * transaction as the new rules (never a moment without rules, never a moment with both):
 * setupNat the network's chains, syncPortRules the port chains; the old table goes with its last
 * chain. Until the ports are next synced the old port chains keep publishing (nothing doubles them).
 */
import { checkIfname } from "./ip.ts";
import { runNft } from "./nft.ts";
import { TABLE_NAME } from "./nat-rules.ts";

export const legacyTable = (bridge: string) => `vmlan_${checkIfname(bridge)}`;

/** What the old table held for the network itself, and for its published ports. */
export const LEGACY_NETWORK_CHAINS = ["forward", "postrouting", "guard"];
export const LEGACY_PORT_CHAINS = ["ports_pre", "ports_out", "ports_post"];

/** The names of the inet tables in this namespace (one cheap read: tables only, no rules). */
export function inetTables(): Set<string> {
  const r = runNft(["-j", "list", "tables", "inet"]);
  if (r.code !== 0) return new Set();
  const items = (JSON.parse(r.stdout) as { nftables: Array<{ table?: { name: string } }> }).nftables;
  return new Set(items.flatMap((i) => (i.table ? [i.table.name] : [])));
}

/** Whether the new table is there (teardown has nothing to take from it otherwise). */
export const hasTable = (tables: Set<string>) => tables.has(TABLE_NAME);

function chainsOf(table: string): string[] {
  const r = runNft(["-j", "list", "table", "inet", table]);
  if (r.code !== 0) return [];
  const items = (JSON.parse(r.stdout) as { nftables: Array<{ chain?: { name: string } }> }).nftables;
  return items.flatMap((i) => (i.chain ? [i.chain.name] : []));
}

/**
 * Lines that take `moving` out of the network's old table (the whole table when nothing else is
 * left in it); "" when there is no old table. `tables`: inetTables(), read once per transaction.
 */
export function retireLegacyScript(bridge: string, tables: Set<string>, moving: string[]): string {
  const t = legacyTable(bridge);
  if (!tables.has(t)) return "";
  const chains = chainsOf(t);
  if (chains.every((c) => moving.includes(c))) return `delete table inet ${t}\n`;
  return chains.filter((c) => moving.includes(c)).map((c) => `flush chain inet ${t} ${c}\ndelete chain inet ${t} ${c}\n`).join("");
}

/** The whole old table of a network that goes away; "" when there is none. */
export function deleteLegacyScript(bridge: string, tables: Set<string>): string {
  const t = legacyTable(bridge);
  return tables.has(t) ? `delete table inet ${t}\n` : "";
}
