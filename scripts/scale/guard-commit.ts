/**
 * `bench scale`, part `guard`: the cost of guarding one port (guardPort: its anti-spoofing rules in
 * one nft transaction, on the path of every helper start, `run --native`, VM start and CNI ADD) with
 * 1, 100 and 1,000 ports' rules already in the table, then with 600 more interfaces in the namespace
 * (libnftables reads every link on each transaction that names an interface index). The reference,
 * measured after it in the same namespace (alone there: each commit reads every table), is the
 * layout before (test/support/guard-rules.ts: a table per network, an anonymous set per rule of each
 * port). Runs in `bench scale`'s namespace (bench-scale.ts); the ports already there are rules of
 * ifindexes with no interface (they cost the same in the table), the measured ones real veths.
 */
import { readdirSync, readFileSync } from "node:fs";
import { applyScript } from "../../src/platform/linux/nft.ts";
import { guardPort } from "../../src/platform/linux/port-guard.ts";
import { portScript, tableScript } from "../../src/platform/linux/port-guard-rules.ts";
import { legacyGuardTable } from "../../test/support/guard-rules.ts";
import { median, round2 } from "../bench-report.ts";

export const GUARD_SIZES = [1, 100, 1000];
const MEASURED = 15;
export type GuardRow = { ports: number; links: number; guardMs: number; beforeMs: number };

const sh = (...argv: string[]) => {
  const r = Bun.spawnSync(argv, { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString().trim()}`);
};
const mac = (i: number) => `02:00:5c:${((i >> 16) & 255).toString(16).padStart(2, "0")}:${((i >> 8) & 255).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}`;
const port = (ifindex: number, i: number) => ({ ifindex, mac: mac(i), lease: { mac: mac(i), ipv4: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${(i & 127) + 1}`, ipv6: ["fe80::5c:1"] } });
/** What guardPort applied in the layout before: its network's table (the skeleton refilled) and the port's lines. */
const BEFORE = "bridge vmlan_vl-gc";
const BEFORE_TABLE = [`add table ${BEFORE}`, `add map ${BEFORE} ports { type iface_index : verdict; }`, `add set ${BEFORE} claimed { type ether_addr; }`,
  `add chain ${BEFORE} guard { type filter hook prerouting priority -300; policy accept; }`, `flush chain ${BEFORE} guard`, `add rule ${BEFORE} guard iif vmap @ports`, ""].join("\n");
function beforeScript(ifindex: number, i: number): string {
  const lines = legacyGuardTable("vl-gc", [{ ifindex, mac: mac(i), lease: { mac: mac(i), ipv4: port(ifindex, i).lease.ipv4, ipv6: "fe80::5c:1" } }]).split("\n");
  return BEFORE_TABLE + lines.filter((l) => / (port|mac)_\d+( |$)| ports \{ \d| claimed \{ [0-9a-f]/.test(l)).join("\n") + "\n";
}

let veths = 0;
/** A veth on vl-gc (its peer in the same namespace), as a port's maker would have made it. */
function veth(): string {
  const name = `gc${veths++}`;
  sh("ip", "link", "add", name, "type", "veth", "peer", "name", `${name}p`);
  sh("ip", "link", "set", name, "master", "vl-gc");
  return name;
}

const links = () => readdirSync("/sys/class/net").length;
type Layout = "vmlan" | "before";
/** One port more, median ms over MEASURED: guardPort itself, or the layout before's script for it. */
function measure(layout: Layout): number {
  const ms: number[] = [];
  for (let k = 0; k < MEASURED; k++) {
    const ifname = veth();
    const i = 500_000 + veths;
    const t = Bun.nanoseconds();
    if (layout === "vmlan") guardPort("vl-gc", ifname, { mac: mac(i), lease: port(0, i).lease }, { sweep: false });
    else applyScript(beforeScript(Number(readFileSync(`/sys/class/net/${ifname}/ifindex`, "utf8")), i), "the layout before");
    ms.push((Bun.nanoseconds() - t) / 1e6);
  }
  return round2(median(ms));
}

/** Every size in turn for one layout, alone in the namespace (each commit reads every table there). */
function phase(layout: Layout): Array<{ ports: number; links: number; ms: number }> {
  sh("ip", "link", "add", "vl-gc", "type", "bridge");
  applyScript(layout === "vmlan" ? tableScript("vl-gc") : BEFORE_TABLE, "the table");
  const rows: Array<{ ports: number; links: number; ms: number }> = [];
  let filled = 0;
  for (const size of GUARD_SIZES) {
    // Ports already there: rules of ifindexes with no interface (they cost the same in the table).
    for (; filled < size; filled++) applyScript(layout === "vmlan" ? portScript("vl-gc", port(1_000_000 + filled, filled)) : beforeScript(1_000_000 + filled, filled), "ports already there");
    rows.push({ ports: size, links: links(), ms: measure(layout) });
  }
  for (let k = 0; k < 300; k++) veth();
  rows.push({ ports: filled, links: links(), ms: measure(layout) });
  // Leave the namespace as it was: no table, no link.
  applyScript(`delete table bridge ${layout === "vmlan" ? "vmlan" : "vmlan_vl-gc"}\n`, "cleanup");
  for (let k = 0; k < veths; k++) sh("ip", "link", "del", `gc${k}`);
  sh("ip", "link", "del", "vl-gc");
  veths = 0;
  return rows;
}

export function guardCommits(): GuardRow[] {
  const now = phase("vmlan");
  const before = phase("before");
  return now.map((r, i) => ({ ports: r.ports, links: r.links, guardMs: r.ms, beforeMs: before[i]!.ms }));
}
