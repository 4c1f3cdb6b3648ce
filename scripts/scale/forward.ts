/**
 * `bench scale`, part `forward`: TCP throughput a guest gets through its shared network's NAT to the
 * outside (iperf3, 4 s), from a port with vmlan's anti-spoofing rules, with 1, 50 and 200 networks'
 * rules loaded. vmlan keeps every network in one inet table (NAT, src/platform/linux/nat-rules.ts)
 * and one bridge table (anti-spoofing, port-guard-rules.ts), each with one base chain per hook that
 * dispatches through a verdict map, so a packet costs the same whatever the number of networks. In
 * the same namespaces, right after, the layouts before (test/support/nat-rules.ts and
 * guard-rules.ts, what older vmlans installed): one bridge table per network (each with its own base
 * chain: every bridged frame walked them all), and that plus one inet table per network; and, as
 * the reference, vmlan with no anti-spoofing table at all (the guest's port unguarded). Each layout
 * starts from `system start`, which must retire the one before (the upgrade path) and keep the
 * guest's port guarded. Three namespaces of the bench's own: the vmlan host, a guest cabled to
 * vl-default, the outside world linked to the host.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { portScript, tableScript, type GuardedPort } from "../../src/platform/linux/port-guard-rules.ts";
import { createNetns, linkUpstream, type Netns } from "../../test/support/netns.ts";
import { vmlanBin } from "../../test/support/binary.ts";
import { legacySharedTable } from "../../test/support/nat-rules.ts";
import { legacyGuardTable } from "../../test/support/guard-rules.ts";
import { median, ratio, round2, type Figures, type Table } from "../bench-report.ts";
import { addNetworks } from "./populate.ts";

export const FORWARD_SIZES = [1, 50, 200];
const LAYOUTS = ["gbps", "guardTablesGbps", "legacyGbps", "unguardedGbps"] as const;
type Layout = (typeof LAYOUTS)[number];
/** Gbit/s: vmlan; a guard table per network (NAT as vmlan); a table per network for both; vmlan without guard tables. */
export type ForwardRow = { networks: number } & Record<Layout, number>;

const GUEST = { ip: "192.168.64.50", bridge: "vl-default" };

/** vmlan's bridges of `host` with their IPv4 subnet (all /24 here). */
function bridges(host: Netns): Array<{ bridge: string; subnet: string }> {
  const links = host.ipJson<Array<{ ifname: string; addr_info: Array<{ family: string; local: string; prefixlen: number }> }>>(["addr", "show", "type", "bridge"]);
  return links.filter((l) => l.ifname.startsWith("vl-")).map((l) => {
    const v4 = l.addr_info.find((a) => a.family === "inet")!;
    return { bridge: l.ifname, subnet: `${v4.local.replace(/\.\d+$/, ".0")}/${v4.prefixlen}` };
  });
}

/** The script that puts `layout` in place over vmlan's own (which `system start` just wrote), in one transaction. */
function layoutScript(host: Netns, layout: Layout, port: GuardedPort): string {
  if (layout === "gbps") return tableScript(GUEST.bridge) + portScript(GUEST.bridge, port); // the guest's port, as its maker guards it
  if (layout === "unguardedGbps") return "delete table bridge vmlan\n";
  const bs = bridges(host);
  const lease = { mac: port.mac!, ipv4: GUEST.ip, ipv6: "fe80::1" };
  const guards = bs.map((b) => legacyGuardTable(b.bridge, b.bridge === GUEST.bridge ? [{ ifindex: port.ifindex, mac: port.mac, lease }] : []));
  const nat = layout === "legacyGbps" ? `delete table inet vmlan\n${bs.map((b) => legacySharedTable(b.bridge, b.subnet)).join("")}` : "";
  return `delete table bridge vmlan\n${guards.join("")}${nat}`;
}

/** One run: every layout in turn (`reverse`: the other way round, so order favours none). */
async function once(networks: number, reverse: boolean): Promise<Record<Layout, number>> {
  const dir = mkdtempSync(join(tmpdir(), "vmlan-bench-fwd-"));
  const made: Netns[] = [];
  const ns = () => { const n = createNetns(); made.push(n); return n; };
  const host = ns(), guest = ns(), outside = ns();
  const vmlan = (...args: string[]) => host.run([vmlanBin(), ...args], { env: { VMLAN_STATE_DIR: dir } });
  const nft = (script: string, what: string) => {
    const r = host.run(["nft", "-f", "-"], { stdin: script });
    if (r.code !== 0) throw new Error(`nft -f (${what}): ${r.stderr}`);
  };
  /** `system start` over whatever layout is loaded: it must retire every table of the layouts before. */
  const start = () => {
    const r = vmlan("system", "start");
    if (r.code !== 0) throw new Error(`system start failed: ${r.stderr}`);
    const left = ["inet", "bridge"].flatMap((f) => host.sh(["nft", "list", "tables", f]).split("\n").filter((l) => l.includes("vmlan_")));
    if (left.length) throw new Error(`system start left ${left.length} tables of the layouts before, e.g. ${left[0]!.trim()}`);
  };
  try {
    await addNetworks(dir, 1, networks, { mode: "shared" });
    start();
    linkUpstream(outside, host, { nsIf: "eth0", upIf: "wan0", nsAddr: "10.252.7.2", upAddr: "10.252.7.1", prefix: 30 });
    host.sh(["ip", "link", "add", "g1", "type", "veth", "peer", "name", "eth0", "netns", guest.name]);
    host.sh(["ip", "link", "set", "g1", "master", GUEST.bridge, "up"]);
    guest.sh(["ip", "addr", "add", `${GUEST.ip}/24`, "dev", "eth0"]);
    guest.sh(["ip", "link", "set", "eth0", "up"]);
    guest.sh(["ip", "route", "add", "default", "via", "192.168.64.1"]);
    const mac = guest.sh(["cat", "/sys/class/net/eth0/address"]).trim();
    const port: GuardedPort = { ifindex: Number(host.sh(["cat", "/sys/class/net/g1/ifindex"]).trim()), mac, lease: { mac, ipv4: GUEST.ip, ipv6: [] } };
    const iperf = async () => {
      outside.sh(["iperf3", "-s", "-D", "-1"]);
      await Bun.sleep(300);
      const out = JSON.parse(guest.sh(["iperf3", "-c", "10.252.7.2", "-t", "4", "-J"])) as { end: { sum_received: { bits_per_second: number } } };
      return out.end.sum_received.bits_per_second / 1e9;
    };
    const out = {} as Record<Layout, number>;
    let before: Layout | null = null;
    for (const layout of reverse ? [...LAYOUTS].reverse() : LAYOUTS) {
      start();
      // Over a layout before, `system start` moved the guest's port into vmlan's table: it must be there.
      const moved = host.run(["nft", "list", "chain", "bridge", "vmlan", `port_${GUEST.bridge}_${port.ifindex}`]).code === 0;
      if ((before === "guardTablesGbps" || before === "legacyGbps") && !moved) throw new Error(`system start over ${before}'s layout lost the guest port's rules`);
      nft(layoutScript(host, layout, port), layout);
      before = layout;
      out[layout] = await iperf();
    }
    return out;
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
    const xs: Array<Record<Layout, number>> = [];
    for (let r = 0; r < Math.min(runs, 3); r++) xs.push(await once(n, r % 2 === 1));
    const row = { networks: n } as ForwardRow;
    for (const k of LAYOUTS) row[k] = round2(median(xs.map((x) => x[k])));
    rows.push(row);
  }
  return rows;
}

/** The part's figures and table for the report (bench-scale.ts). */
export function forwardFigures(forward: ForwardRow[]): { medians: Figures; ratios: Figures; table: Table } {
  const by = (f: (r: ForwardRow) => number) => Object.fromEntries(forward.map((r) => [String(r.networks), f(r)]));
  const [lo, hi] = [forward[0]!, forward[forward.length - 1]!];
  const span = `${hi.networks} vs ${lo.networks} networks`;
  return {
    medians: {
      "forwarded TCP Gbit/s by networks": by((r) => r.gbps),
      "forwarded TCP Gbit/s, a guard table per network (the layout before), by networks": by((r) => r.guardTablesGbps),
      "forwarded TCP Gbit/s, a NAT and a guard table per network (before issue #15 §4), by networks": by((r) => r.legacyGbps),
      "forwarded TCP Gbit/s without the ports' guard tables, by networks": by((r) => r.unguardedGbps),
    },
    ratios: {
      [`forwarded TCP, ${span}`]: ratio(hi.gbps, lo.gbps),
      [`forwarded TCP, ${span}, a guard table per network`]: ratio(hi.guardTablesGbps, lo.guardTablesGbps),
      [`forwarded TCP, ${span}, a NAT and a guard table per network`]: ratio(hi.legacyGbps, lo.legacyGbps),
      [`forwarded TCP, ${span}, without the guard tables`]: ratio(hi.unguardedGbps, lo.unguardedGbps),
      [`forwarded TCP, ${hi.networks} networks: vmlan / a guard table per network`]: ratio(hi.gbps, hi.guardTablesGbps),
      [`forwarded TCP, ${hi.networks} networks: vmlan / without the guard tables`]: ratio(hi.gbps, hi.unguardedGbps),
    },
    table: {
      title: "a guest's TCP throughput through its shared network's NAT, from a guarded port (iperf3, 4 s)",
      head: ["networks loaded", "vmlan Gbit/s", "guard tables Gbit/s", "vmlan/guard tables", "both per network Gbit/s", "no guards Gbit/s", "vmlan/no guards"],
      rows: forward.map((r) => [r.networks, r.gbps, r.guardTablesGbps, ratio(r.gbps, r.guardTablesGbps), r.legacyGbps, r.unguardedGbps, ratio(r.gbps, r.unguardedGbps)]),
      note: "vmlan: one inet and one bridge table, each base chain dispatches through a verdict map to a network's or a port's chain;\n" +
        "guard tables: the anti-spoofing rules as a table per network, each with its own prerouting base chain (NAT as vmlan);\n" +
        "both per network: that, and NAT as a table per network too (the layout before issue #15 §4);\n" +
        "no guards: vmlan with the anti-spoofing table deleted (the guest's port unguarded): the reference",
    },
  };
}
