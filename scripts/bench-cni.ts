/**
 * `bun run bench cni`: ADD and DEL latency of vmlan's CNI plugin against the reference plugins doing
 * the same work in the same run (Debian's containernetworking-plugins):
 *   vmlan          `type: vmlan` (veth to vl-<net>, address, default route, DNS) on a shared network
 *   bridge+host-local   `type: bridge` (isGateway, isDefaultGateway, no ipMasq) with host-local IPAM
 *   bridge+vmlan   the reference bridge with `ipam: vmlan` on vmlan's bridge
 * Each run: one container namespace, ADD then DEL per variant, the variants in rotating order. Wall
 * time is what a runtime waits; CPU time (the plugin and its children) is steadier on a busy machine.
 * Needs root: creates `vmlan-bench-<random>` as the host, re-runs itself inside it (every bridge and
 * veth lives there), and removes it, its container namespaces and the temp dirs at the end.
 */
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { vmlanBin } from "../test/support/binary.ts";

type Result = { name: string; runs: number; median: number; p10: number; p90: number };
type Options = { runs: number; json: boolean; inside?: string };
const REF = "/usr/lib/cni";

function quantile(s: number[], q: number): number {
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (pos - lo);
}
const summarize = (name: string, xs: number[]): Result => {
  const s = [...xs].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { name, runs: s.length, median: r(quantile(s, 0.5)), p10: r(quantile(s, 0.1)), p90: r(quantile(s, 0.9)) };
};

/** One plugin call: wall time, and CPU time (user + system, the plugin's children included: bridge's host-local). */
async function plugin(dir: string, type: string, command: string, conf: unknown, netns: string, id: string): Promise<{ wall: number; cpu: number }> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: "eth0", CNI_PATH: dir };
  const t0 = performance.now();
  const p = Bun.spawn([join(dir, type)], { env, stdin: new TextEncoder().encode(JSON.stringify(conf)), stdout: "pipe", stderr: "pipe" });
  const [code, out] = await Promise.all([p.exited, new Response(p.stdout).text()]);
  const wall = performance.now() - t0;
  if (code !== 0) throw new Error(`${type} ${command} ${id} exited ${code}: ${out.trim()}`);
  const u = p.resourceUsage();
  return { wall, cpu: u ? (Number(u.cpuTime.user) + Number(u.cpuTime.system)) / 1000 : NaN };
}

async function inside(o: Options): Promise<Result[]> {
  const tmp = mkdtempSync(join(tmpdir(), "vmlan-bench-cni-"));
  const dir = join(tmp, "bin");
  Bun.spawnSync(["mkdir", "-p", dir]);
  symlinkSync(vmlanBin(), join(dir, "vmlan"));
  for (const p of ["bridge", "host-local"]) symlinkSync(join(REF, p), join(dir, p));
  const stateDir = join(tmp, "state");
  const variants: Record<string, { type: string; conf: unknown }> = {
    // As `vmlan cni config` writes it; the warm-up creates the network (see below).
    vmlan: { type: "vmlan", conf: { cniVersion: "1.0.0", name: "benchv", type: "vmlan", stateDir } },
    "bridge+host-local": { type: "bridge", conf: { cniVersion: "1.0.0", name: "benchr", type: "bridge", bridge: "cni-bench0", isGateway: true, isDefaultGateway: true, ipMasq: false, ipam: { type: "host-local", subnet: "10.89.0.0/24", dataDir: join(tmp, "host-local") } } },
    "bridge+vmlan": { type: "bridge", conf: { cniVersion: "1.0.0", name: "benchv", type: "bridge", bridge: "vl-benchv", isGateway: false, ipMasq: false, ipam: { type: "vmlan", network: "benchv", stateDir } } },
  };
  const names = Object.keys(variants);
  const samples = new Map<string, number[]>(names.flatMap((n) => [[`${n} ADD`, []], [`${n} DEL`, []], [`${n} ADD cpu`, []], [`${n} DEL cpu`, []]]));
  const ns = (i: number) => `${o.inside}-c${i}`;
  try {
    // Warm-up (untimed): creates vmlan's network and both bridges, and fills the page cache.
    Bun.spawnSync(["ip", "netns", "add", ns(0)]);
    const create = { ...(variants.vmlan!.conf as object), subnet: "10.88.0.0/24", mode: "shared" };
    await plugin(dir, "vmlan", "ADD", create, `/run/netns/${ns(0)}`, "create");
    await plugin(dir, "vmlan", "DEL", create, `/run/netns/${ns(0)}`, "create");
    for (const n of names) {
      await plugin(dir, variants[n]!.type, "ADD", variants[n]!.conf, `/run/netns/${ns(0)}`, `warm-${n.replace(/\W/g, "")}`);
      await plugin(dir, variants[n]!.type, "DEL", variants[n]!.conf, `/run/netns/${ns(0)}`, `warm-${n.replace(/\W/g, "")}`);
    }
    for (let i = 1; i <= o.runs; i++) {
      Bun.spawnSync(["ip", "netns", "add", ns(i)]);
      const order = names.map((_, k) => names[(k + i) % names.length]!);
      for (const n of order) {
        const v = variants[n]!;
        const id = `bench-${i}-${n.replace(/\W/g, "")}`;
        for (const cmd of ["ADD", "DEL"]) {
          const r = await plugin(dir, v.type, cmd, v.conf, `/run/netns/${ns(i)}`, id);
          samples.get(`${n} ${cmd}`)!.push(r.wall);
          samples.get(`${n} ${cmd} cpu`)!.push(r.cpu);
        }
      }
      Bun.spawnSync(["ip", "netns", "del", ns(i)]);
    }
  } finally {
    for (let i = 0; i <= o.runs; i++) Bun.spawnSync(["ip", "netns", "del", ns(i)], { stderr: "ignore" });
    rmSync(tmp, { recursive: true, force: true });
  }
  return [...samples].map(([name, xs]) => summarize(name, xs));
}

export async function cni(o: Options): Promise<Result[]> {
  if (o.inside) return inside(o);
  if (process.getuid?.() !== 0) throw new Error("bench cni needs root: it creates network namespaces");
  vmlanBin();
  const host = `vmlan-bench-${crypto.randomUUID().slice(0, 8)}`;
  const ip = (...a: string[]) => Bun.spawnSync(["ip", ...a], { stdio: ["ignore", "inherit", "inherit"] }).exitCode;
  try {
    if (ip("netns", "add", host) !== 0) throw new Error(`ip netns add ${host} failed`);
    ip("-n", host, "link", "set", "lo", "up");
    const child = Bun.spawn(["ip", "netns", "exec", host, process.execPath, import.meta.path, "--runs", String(o.runs), "--inside", host], { stdin: "ignore", stdout: "pipe", stderr: "inherit" });
    const [code, out] = await Promise.all([child.exited, new Response(child.stdout).text()]);
    if (code !== 0) throw new Error(`bench inside ${host} exited ${code}`);
    const results = JSON.parse(out) as Result[];
    const med = (n: string) => results.find((r) => r.name === n)!.median;
    const r2 = (x: number) => Math.round(x * 100) / 100;
    const ratio = r2(med("vmlan ADD") / med("bridge+host-local ADD"));
    const ipamRatio = r2(med("bridge+vmlan ADD") / med("bridge+host-local ADD"));
    const cpuRatio = r2(med("vmlan ADD cpu") / med("bridge+host-local ADD cpu"));
    const load = (await Bun.file("/proc/loadavg").text()).split(" ")[0];
    if (o.json) console.log(JSON.stringify({ bench: "cni", unit: "ms", loadavg: Number(load), results, addRatio: ratio, ipamAddRatio: ipamRatio, addCpuRatio: cpuRatio }, null, 2));
    else {
      const rows = [["benchmark", "median", "p10", "p90", "runs"], ...results.map((r) => [r.name, r.median.toFixed(1), r.p10.toFixed(1), r.p90.toFixed(1), String(r.runs)])];
      const w = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
      console.log(rows.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ")).join("\n"));
      console.log(`times in ms (cpu: user + system); ADD vmlan / bridge+host-local = ${ratio}x (cpu ${cpuRatio}x); bridge+vmlan / bridge+host-local = ${ipamRatio}x; load average ${load}`);
    }
    return [];
  } finally {
    ip("netns", "del", host);
  }
}

if (import.meta.main) {
  // The re-run inside the host namespace: answer JSON to the parent.
  const args = process.argv.slice(2);
  const runs = Number(args[args.indexOf("--runs") + 1]);
  const host = args[args.indexOf("--inside") + 1]!;
  console.log(JSON.stringify(await inside({ runs, json: true, inside: host })));
}
