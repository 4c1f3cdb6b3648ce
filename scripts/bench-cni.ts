/**
 * `bun run bench cni`: ADD and DEL latency of vmlan's CNI plugin against the reference plugins doing
 * the same work in the same run (Debian's containernetworking-plugins):
 *   vmlan          `type: vmlan` (veth to vl-<net>, address, default route, DNS) on a shared network
 *   vmlan unguarded     the same with `allowSpoofing: true`: no anti-spoofing rules (their cost, apart)
 *   vmlan unguarded in-process   the same run in the plugin process (VMLAN_CNI_IN_PROCESS=1), as
 *                  without the services daemon
 *   bridge+host-local   `type: bridge` (isGateway, isDefaultGateway, no ipMasq) with host-local IPAM
 *   bridge+vmlan   the reference bridge with `ipam: vmlan` on vmlan's bridge
 * The services daemon runs for the state dir, as after `vmlan system start` (docs/cni.md: install):
 * vmlan's ADD, DEL and CHECK are then run by it (src/cni/client.ts), the same work in a warm process.
 * Each run: one container namespace, ADD then DEL per variant, the variants in rotating order. Wall
 * time is what a runtime waits; CPU time (the plugin and its children) is steadier on a busy machine.
 * Needs root: creates `vmlan-bench-<random>` as the host, re-runs itself inside it (every bridge and
 * veth lives there), and removes it, its container namespaces and the temp dirs at the end.
 */
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { vmlanBin } from "../test/support/binary.ts";
import { loadAverage, ratio, summarize, type Report, type Summary } from "./bench-report.ts";

type Result = Summary;
type Options = { runs: number; json: boolean; inside?: string };
const REF = "/usr/lib/cni";

/** One plugin call: wall time, and CPU time (user + system, the plugin's children included: bridge's host-local). */
async function plugin(dir: string, type: string, command: string, conf: unknown, netns: string, id: string, extra: Record<string, string> = {}): Promise<{ wall: number; cpu: number }> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: "eth0", CNI_PATH: dir, ...extra };
  const t0 = performance.now();
  // The config through a pipe, as libcni (podman, containerd, CRI-O) passes it: a Uint8Array stdin
  // would be a memfd, a regular file, which no runtime hands a plugin.
  const p = Bun.spawn([join(dir, type)], { env, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  p.stdin.write(JSON.stringify(conf));
  void p.stdin.end();
  const [code, out] = await Promise.all([p.exited, new Response(p.stdout).text()]);
  const wall = performance.now() - t0;
  if (code !== 0) throw new Error(`${type} ${command} ${id} exited ${code}: ${out.trim()}`);
  const u = p.resourceUsage();
  return { wall, cpu: u ? (Number(u.cpuTime.user) + Number(u.cpuTime.system)) / 1000 : NaN };
}

/** `vmlan services run` for the state dir (in this namespace, as `system start` runs it), once it takes plugin calls. */
async function startDaemon(stateDir: string): Promise<ReturnType<typeof Bun.spawn>> {
  const p = Bun.spawn([vmlanBin(), "services", "run"], { env: { ...process.env, VMLAN_STATE_DIR: stateDir }, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  let seen = "";
  const ready = new Promise<void>((resolve, reject) => {
    void (async () => {
      const dec = new TextDecoder();
      for await (const chunk of p.stderr as ReadableStream<Uint8Array>) {
        if (seen.length < 65536) seen += dec.decode(chunk); // read to its end: a full pipe would stall the daemon
        if (seen.includes("serving plugin calls")) resolve();
      }
      reject(new Error(`vmlan services run exited before it took plugin calls: ${seen.trim()}`));
    })();
  });
  await ready;
  return p;
}

async function inside(o: Options): Promise<Result[]> {
  const tmp = mkdtempSync(join(tmpdir(), "vmlan-bench-cni-"));
  const dir = join(tmp, "bin");
  Bun.spawnSync(["mkdir", "-p", dir]);
  symlinkSync(vmlanBin(), join(dir, "vmlan"));
  for (const p of ["bridge", "host-local"]) symlinkSync(join(REF, p), join(dir, p));
  const stateDir = join(tmp, "state");
  const variants: Record<string, { type: string; conf: unknown; env?: Record<string, string> }> = {
    // As `vmlan cni config` writes it; the warm-up creates the network (see below).
    vmlan: { type: "vmlan", conf: { cniVersion: "1.0.0", name: "benchv", type: "vmlan", stateDir } },
    "vmlan unguarded": { type: "vmlan", conf: { cniVersion: "1.0.0", name: "benchv", type: "vmlan", stateDir, allowSpoofing: true } },
    "vmlan unguarded in-process": { type: "vmlan", conf: { cniVersion: "1.0.0", name: "benchv", type: "vmlan", stateDir, allowSpoofing: true }, env: { VMLAN_CNI_IN_PROCESS: "1" } },
    "bridge+host-local": { type: "bridge", conf: { cniVersion: "1.0.0", name: "benchr", type: "bridge", bridge: "cni-bench0", isGateway: true, isDefaultGateway: true, ipMasq: false, ipam: { type: "host-local", subnet: "10.89.0.0/24", dataDir: join(tmp, "host-local") } } },
    "bridge+vmlan": { type: "bridge", conf: { cniVersion: "1.0.0", name: "benchv", type: "bridge", bridge: "vl-benchv", isGateway: false, ipMasq: false, ipam: { type: "vmlan", network: "benchv", stateDir } } },
  };
  const names = Object.keys(variants);
  const samples = new Map<string, number[]>(names.flatMap((n) => [[`${n} ADD`, []], [`${n} DEL`, []], [`${n} ADD cpu`, []], [`${n} DEL cpu`, []]]));
  const ns = (i: number) => `${o.inside}-c${i}`;
  let daemon: ReturnType<typeof Bun.spawn> | null = null;
  try {
    // Warm-up (untimed): creates vmlan's network and both bridges, and fills the page cache.
    Bun.spawnSync(["ip", "netns", "add", ns(0)]);
    const create = { ...(variants.vmlan!.conf as object), subnet: "10.88.0.0/24", mode: "shared" };
    await plugin(dir, "vmlan", "ADD", create, `/run/netns/${ns(0)}`, "create");
    await plugin(dir, "vmlan", "DEL", create, `/run/netns/${ns(0)}`, "create");
    daemon = await startDaemon(stateDir);
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
          const r = await plugin(dir, v.type, cmd, v.conf, `/run/netns/${ns(i)}`, id, v.env);
          samples.get(`${n} ${cmd}`)!.push(r.wall);
          samples.get(`${n} ${cmd} cpu`)!.push(r.cpu);
        }
      }
      Bun.spawnSync(["ip", "netns", "del", ns(i)]);
    }
  } finally {
    daemon?.kill();
    await daemon?.exited;
    for (let i = 0; i <= o.runs; i++) Bun.spawnSync(["ip", "netns", "del", ns(i)], { stderr: "ignore" });
    rmSync(tmp, { recursive: true, force: true });
  }
  return [...samples].map(([name, xs]) => summarize(name, xs));
}

export async function cni(o: Options): Promise<Report> {
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
    const med = (n: string) => results.find((r) => r.name === n)?.median;
    const ratios = {
      "ADD vmlan / bridge+host-local": ratio(med("vmlan ADD"), med("bridge+host-local ADD")),
      "ADD cpu vmlan / bridge+host-local": ratio(med("vmlan ADD cpu"), med("bridge+host-local ADD cpu")),
      "ADD bridge+vmlan / bridge+host-local": ratio(med("bridge+vmlan ADD"), med("bridge+host-local ADD")),
      "DEL vmlan / bridge+host-local": ratio(med("vmlan DEL"), med("bridge+host-local DEL")),
      "ADD vmlan / vmlan unguarded": ratio(med("vmlan ADD"), med("vmlan unguarded ADD")),
      "ADD vmlan unguarded / bridge+host-local": ratio(med("vmlan unguarded ADD"), med("bridge+host-local ADD")),
      "DEL vmlan unguarded / bridge+host-local": ratio(med("vmlan unguarded DEL"), med("bridge+host-local DEL")),
      "ADD vmlan unguarded in-process / bridge+host-local": ratio(med("vmlan unguarded in-process ADD"), med("bridge+host-local ADD")),
    };
    return {
      bench: "cni", inputs: { runs: o.runs, loadavg: await loadAverage(), binary: vmlanBin() }, ratios,
      medians: Object.fromEntries(results.map((r) => [`${r.name} ms`, r.median])),
      tables: [{ head: ["benchmark", "median", "p10", "p90", "runs"], rows: results.map((r) => [r.name, r.median, r.p10, r.p90, r.runs]), note: "times in ms (cpu: user + system of the plugin and its children)" }],
      detail: results,
    };
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
