/**
 * `bench scale`, part `forward`: TCP throughput a guest gets through its shared network's NAT to the
 * outside (iperf3, 4 s), with 1 and with 200 networks' tables loaded. Every vmlan network has its
 * own nftables table with a base chain on the forward hook, so each forwarded packet passes every
 * network's chain: this measures what that costs. Three namespaces of the bench's own: the vmlan
 * host (system start), a guest cabled to vl-default, the outside world linked to the host.
 * The reference, in the same namespaces right after (with more than one network): vmlan's rules
 * replaced by hand with the same forward policy as ONE table whose one forward base chain jumps to
 * a network's chain through a verdict map keyed by interface (what a layout that stays flat costs).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetns, linkUpstream, type Netns } from "../../test/support/netns.ts";
import { vmlanBin } from "../../test/support/binary.ts";
import { median, round2 } from "../bench-report.ts";
import { addNetworks } from "./populate.ts";

export const FORWARD_SIZES = [1, 200];
export type ForwardRow = { networks: number; gbps: number; oneTableGbps: number | null };

/** vmlan's forward policy for these bridges as one table: iifname/oifname verdict maps to per-network chains. */
function oneTableScript(bridges: string[]): string {
  const q = (b: string) => `"${b}"`;
  const chains = bridges.flatMap((b) => [
    `  chain from_${b} { oifname ${q(b)} accept; oifname "vl-*" drop; }`, // within the network; isolated from the others
    `  chain to_${b} { ct state established,related accept; drop; }`, // no new connections in from elsewhere
  ]);
  const map = (dir: "from" | "to") => bridges.map((b) => `${q(b)} : jump ${dir}_${b}`).join(", ");
  return [
    "table inet bench_one {", ...chains,
    `  chain forward { type filter hook forward priority filter; policy accept; iifname vmap { ${map("from")} }; oifname vmap { ${map("to")} }; }`,
    '  chain postrouting { type nat hook postrouting priority srcnat; policy accept; oifname "wan0" masquerade; }',
    "}", "",
  ].join("\n");
}

async function once(networks: number): Promise<{ gbps: number; oneTableGbps: number | null }> {
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
    const gbps = await iperf();
    if (networks === 1) return { gbps, oneTableGbps: null };
    // The bench host's own namespace: its ruleset is vmlan's tables only.
    const bridges = host.ipJson<Array<{ ifname: string }>>(["link", "show", "type", "bridge"]).map((l) => l.ifname).filter((n) => n.startsWith("vl-"));
    host.sh(["nft", "flush", "ruleset"]);
    const loaded = host.run(["nft", "-f", "-"], { stdin: oneTableScript(bridges) });
    if (loaded.code !== 0) throw new Error(`nft -f (one table): ${loaded.stderr}`);
    return { gbps, oneTableGbps: await iperf() };
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
    console.error(`bench: scale: forwarded TCP through NAT with ${n} network(s)' tables`);
    const xs: Array<{ gbps: number; oneTableGbps: number | null }> = [];
    for (let r = 0; r < Math.min(runs, 3); r++) xs.push(await once(n));
    const ref = xs.flatMap((x) => (x.oneTableGbps === null ? [] : [x.oneTableGbps]));
    rows.push({ networks: n, gbps: round2(median(xs.map((x) => x.gbps))), oneTableGbps: ref.length ? round2(median(ref)) : null });
  }
  return rows;
}
