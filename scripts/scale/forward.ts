/**
 * `bench scale`, part `forward`: TCP throughput a guest gets through its shared network's NAT to the
 * outside (iperf3, 4 s), with 1, 50 and 200 networks' rules loaded. vmlan keeps every network in one
 * table whose base chains dispatch by interface through verdict maps (src/platform/linux/nat-rules.ts),
 * so a forwarded packet costs the same whatever the number of networks. The reference, in the same
 * namespaces right after: the layout before it, one table per network each with its own base chains
 * (test/support/nat-rules.ts, what an older vmlan installed), so each packet walked all of them.
 * Three namespaces of the bench's own: the vmlan host (system start), a guest cabled to vl-default,
 * the outside world linked to the host.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetns, linkUpstream, type Netns } from "../../test/support/netns.ts";
import { vmlanBin } from "../../test/support/binary.ts";
import { legacySharedTable } from "../../test/support/nat-rules.ts";
import { median, ratio, round2, type Figures, type Table } from "../bench-report.ts";
import { addNetworks } from "./populate.ts";

export const FORWARD_SIZES = [1, 50, 200];
/** Gbit/s: vmlan; the layout before (both with the ports' guard tables); vmlan without the guard tables. */
export type ForwardRow = { networks: number; gbps: number; legacyGbps: number; unguardedGbps: number };

/** The layout before, for every vmlan bridge of `host` (all /24 here): vmlan's table replaced in one transaction. */
function legacyScript(host: Netns): string {
  const links = host.ipJson<Array<{ ifname: string; addr_info: Array<{ family: string; local: string; prefixlen: number }> }>>(["addr", "show", "type", "bridge"]);
  const tables = links.filter((l) => l.ifname.startsWith("vl-")).map((l) => {
    const v4 = l.addr_info.find((a) => a.family === "inet")!;
    return legacySharedTable(l.ifname, `${v4.local.replace(/\.\d+$/, ".0")}/${v4.prefixlen}`);
  });
  return `delete table inet vmlan\n${tables.join("")}`;
}

/** One run; `legacyFirst` measures the layout before first, then lets `system start` retire it (the upgrade path), so order favours neither. */
async function once(networks: number, legacyFirst: boolean): Promise<Omit<ForwardRow, "networks">> {
  const dir = mkdtempSync(join(tmpdir(), "vmlan-bench-fwd-"));
  const made: Netns[] = [];
  const ns = () => { const n = createNetns(); made.push(n); return n; };
  const host = ns(), guest = ns(), outside = ns();
  const vmlan = (...args: string[]) => host.run([vmlanBin(), ...args], { env: { VMLAN_STATE_DIR: dir } });
  try {
    await addNetworks(dir, 1, networks, { mode: "shared" });
    const start = vmlan("system", "start");
    if (start.code !== 0) throw new Error(`system start failed: ${start.stderr}`);
    linkUpstream(outside, host, { nsIf: "eth0", upIf: "wan0", nsAddr: "10.252.7.2", upAddr: "10.252.7.1", prefix: 30 });
    host.sh(["ip", "link", "add", "g1", "type", "veth", "peer", "name", "eth0", "netns", guest.name]);
    host.sh(["ip", "link", "set", "g1", "master", "vl-default", "up"]);
    guest.sh(["ip", "addr", "add", "192.168.64.50/24", "dev", "eth0"]);
    guest.sh(["ip", "link", "set", "eth0", "up"]);
    guest.sh(["ip", "route", "add", "default", "via", "192.168.64.1"]);
    const iperf = async () => {
      outside.sh(["iperf3", "-s", "-D", "-1"]);
      await Bun.sleep(300);
      const out = JSON.parse(guest.sh(["iperf3", "-c", "10.252.7.2", "-t", "4", "-J"])) as { end: { sum_received: { bits_per_second: number } } };
      return out.end.sum_received.bits_per_second / 1e9;
    };
    const legacy = async () => {
      const loaded = host.run(["nft", "-f", "-"], { stdin: legacyScript(host) });
      if (loaded.code !== 0) throw new Error(`nft -f (the layout before): ${loaded.stderr}`);
      return iperf();
    };
    const upgrade = () => { // system start over the layout before: it must retire every old table
      const again = vmlan("system", "start");
      if (again.code !== 0) throw new Error(`system start over the layout before failed: ${again.stderr}`);
      const left = host.sh(["nft", "list", "tables", "inet"]).split("\n").filter((l) => l.includes("vmlan_"));
      if (left.length) throw new Error(`system start left ${left.length} tables of the layout before, e.g. ${left[0]}`);
    };
    let gbps: number, legacyGbps: number;
    if (legacyFirst) { legacyGbps = await legacy(); upgrade(); gbps = await iperf(); }
    else { gbps = await iperf(); legacyGbps = await legacy(); upgrade(); }
    // The ports' anti-spoofing tables (bridge family, one per network, port-guard-rules.ts) are not
    // this layout's: without them, what is left is the inet table's own cost.
    const guards = host.sh(["nft", "list", "tables", "bridge"]).split("\n").map((l) => l.trim()).filter((l) => l.startsWith("table bridge vmlan_"));
    const dropped = host.run(["nft", "-f", "-"], { stdin: guards.map((t) => `delete ${t}\n`).join("") });
    if (dropped.code !== 0) throw new Error(`dropping the guard tables: ${dropped.stderr}`);
    return { gbps, legacyGbps, unguardedGbps: await iperf() };
  } finally {
    vmlan("system", "stop");
    for (const n of made) n.delete();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function forwardCost(runs: number, sizes = FORWARD_SIZES): Promise<ForwardRow[] | null> {
  if (!Bun.which("iperf3")) {
    console.error("bench: scale: forward skipped: iperf3 is not installed (apt-get install iperf3)");
    return null;
  }
  const rows: ForwardRow[] = [];
  for (const n of sizes) {
    console.error(`bench: scale: forwarded TCP through NAT with ${n} network(s)' rules`);
    const xs: Array<Omit<ForwardRow, "networks">> = [];
    for (let r = 0; r < Math.min(runs, 3); r++) xs.push(await once(n, r % 2 === 1));
    const med = (k: keyof Omit<ForwardRow, "networks">) => round2(median(xs.map((x) => x[k])));
    rows.push({ networks: n, gbps: med("gbps"), legacyGbps: med("legacyGbps"), unguardedGbps: med("unguardedGbps") });
  }
  return rows;
}

/** The part's figures and table for the report (bench-scale.ts). */
export function forwardFigures(forward: ForwardRow[]): { medians: Figures; ratios: Figures; table: Table } {
  const by = (f: (r: ForwardRow) => number) => Object.fromEntries(forward.map((r) => [String(r.networks), f(r)]));
  const [lo, hi] = [forward[0]!, forward[forward.length - 1]!];
  return {
    medians: {
      "forwarded TCP Gbit/s by networks": by((r) => r.gbps),
      "forwarded TCP Gbit/s, one table per network (the layout before), by networks": by((r) => r.legacyGbps),
      "forwarded TCP Gbit/s without the ports' guard tables, by networks": by((r) => r.unguardedGbps),
    },
    ratios: {
      [`forwarded TCP, ${hi.networks} vs ${lo.networks} networks`]: ratio(hi.gbps, lo.gbps),
      [`forwarded TCP, ${hi.networks} vs ${lo.networks} networks, the layout before`]: ratio(hi.legacyGbps, lo.legacyGbps),
      [`forwarded TCP, ${hi.networks} networks: vmlan / the layout before`]: ratio(hi.gbps, hi.legacyGbps),
      [`forwarded TCP, ${hi.networks} vs ${lo.networks} networks, without the guard tables`]: ratio(hi.unguardedGbps, lo.unguardedGbps),
    },
    table: {
      title: "a guest's TCP throughput through its shared network's NAT (iperf3, 4 s)",
      head: ["networks loaded", "vmlan Gbit/s", "before Gbit/s", "vmlan/before", "no guards Gbit/s"],
      rows: forward.map((r) => [r.networks, r.gbps, r.legacyGbps, ratio(r.gbps, r.legacyGbps), r.unguardedGbps]),
      note: "vmlan: one table, base chains dispatch by interface through verdict maps to a network's chains;\n" +
        "before: one table per network, each with base chains on the forward, postrouting and prerouting hooks (same namespaces, right after);\n" +
        "no guards: vmlan with the ports' anti-spoofing tables (bridge family, one per network, each a base chain) deleted",
    },
  };
}
