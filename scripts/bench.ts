/**
 * Benchmarks, as medians over repeated runs (one run is noise on a 2-core machine).
 *
 *   bun run bench control-plane [--runs N] [--json]
 *   bun run bench guests [--json]          (real QEMU guests: native vs helper vs -netdev user; BENCH_MB=16)
 *   bun run bench datapath [--runs N]      (at most 3 runs; helper vs C reference vs native TAP; the stream
 *                                          path: vmlan switch vs its C reference, and with 4 clients)
 * Every benchmark takes --format table|json (--json is the same as --format json).
 *   bun run bench datapath-soak            (helper RSS over a 60 s full-rate run; BENCH_SOAK_SECONDS)
 *   bun run bench cni [--runs N]           (CNI ADD/DEL: vmlan vs the reference bridge + host-local)
 *   bun run bench dns-flood [--json]       (services daemon fds/RSS under 6,000 queries/s for 30 s; BENCH_QPS, BENCH_SECONDS)
 *   bun run bench dhcp-flood [--json]      (the same under 20,000 DHCP packets/s from made-up MACs, leases lost or duplicated;
 *                                           BENCH_PPS; both take BENCH_BASELINE=/other/vmlan to compare in the same run)
 *   bun run bench bridged [--runs N]       (bridged network create/rm: time and the host's LAN outage, vs iproute2 by hand)
 *   bun run bench scale [--only PARTS]     (how costs grow with networks, attachments, clients, helpers; scripts/bench-scale.ts)
 *   bun run bench offload [--runs N]       (a TCP stream each way: helper with/without offload vs a C reference and veth; BENCH_SECONDS)
 *   bun run bench helper [--runs N]        (one helper's ready-line latency and RSS idle and at full rate, vs a compiled hello world)
 *   bun run bench ports [--runs N]         (published ports: kernel DNAT vs direct vs userspace proxies; BENCH_MB, BENCH_SECONDS)
 * Every bench prints tables for people, and with --format json (or --json) one JSON object with its
 * inputs, medians and ratios (scripts/bench-report.ts), so runs can be compared key by key.
 *
 * control-plane needs root: it creates a network namespace `vmlan-bench-<random>`, re-runs itself
 * inside it (so every vmlan it starts, and every bridge those create, lives there and never in the
 * root namespace), and deletes the namespace and its temp VMLAN_STATE_DIR at the end.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { vmlanBin } from "../test/support/binary.ts";
import { loadAverage, printReport, ratio, summarize, type Report, type Summary } from "./bench-report.ts";

type Options = { runs: number; json: boolean; inside?: string; only?: string };
/** Subcommands; each returns one Report. */
const BENCHES: Record<string, (o: Options) => Promise<Report>> = {
  "control-plane": controlPlane,
  // frames/s, Gbit/s, ratio to C; see scripts/bench-datapath.ts.
  datapath: (o) => import("./bench-datapath.ts").then((m) => m.datapath(o)),
  // The helper's RSS at the start and end of a full-rate run (BENCH_SOAK_SECONDS, default 60).
  "datapath-soak": (o) => import("./bench-datapath.ts").then((m) => m.soak(o)),
  // Mbit/s, ratio to QEMU user-mode; see scripts/bench-guests.ts.
  guests: (o) => import("./bench-guests.ts").then((m) => m.guests(o)),
  // ADD/DEL median and p90, ratio to bridge + host-local; see scripts/bench-cni.ts.
  cni: (o) => import("./bench-cni.ts").then((m) => m.cni(o)),
  // answered, lost, fds, RSS, leases; see scripts/bench-floods.ts.
  "dns-flood": () => import("./bench-floods.ts").then((m) => m.dnsFlood()),
  "dhcp-flood": () => import("./bench-floods.ts").then((m) => m.dhcpFlood()),
  // create/rm time and the host's outage, against iproute2 by hand; see scripts/bench-bridged.ts.
  bridged: (o) => import("./bench-bridged.ts").then((m) => m.bridged(o)),
  // Sizes x medians (issue #15 §4); see scripts/bench-scale.ts.
  scale: (o) => import("./bench-scale.ts").then((m) => m.scale(o)),
  // Gbit/s, CPU per GB, ratio to veth, the offload targets (issue #15 §2); see scripts/bench-offload.ts.
  offload: (o) => import("./bench-offload.ts").then((m) => m.offload(o)),
  // ready ms and RSS against a compiled hello world (issue #15 §3); see scripts/bench-helper.ts.
  helper: (o) => import("./bench-helper.ts").then((m) => m.helperBench(o)),
  // Gbit/s and connections/s per path, ratio to direct; see scripts/bench-ports.ts.
  ports: (o) => import("./bench-ports.ts").then((m) => m.ports(o)),
};

async function timed(runs: number, fn: (i: number) => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

/** Runs one command to completion; throws with its stderr when it fails, so a bench never times errors. */
async function spawnChecked(cmd: string[], env: Record<string, string>): Promise<void> {
  const p = Bun.spawn(cmd, { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [code, , stderr] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}: ${stderr.trim()}`);
}

/** The netns the current process is in is `name` (same inode as its /run/netns bind mount). */
function inNetns(name: string): boolean {
  try {
    return statSync("/proc/self/ns/net").ino === statSync(`/run/netns/${name}`).ino;
  } catch {
    return false;
  }
}

async function controlPlane(o: Options): Promise<Report> {
  const results = await runInFreshNetns(o);
  const base = results.find((r) => r.name.startsWith("spawn /bin/true"))?.median;
  return {
    bench: "control-plane",
    inputs: { runs: o.runs, loadavg: await loadAverage(), binary: vmlanBin() },
    medians: Object.fromEntries(results.map((r) => [`${r.name} ms`, r.median])),
    ratios: Object.fromEntries(results.filter((r) => r.name.startsWith("vmlan ")).map((r) => [`${r.name} / spawn /bin/true`, ratio(r.median, base)])),
    tables: [{ head: ["benchmark", "median", "p10", "p90", "runs"], rows: results.map((r) => [r.name, r.median, r.p10, r.p90, r.runs]), note: "times in ms" }],
    detail: results,
  };
}

async function controlPlaneInside(o: Options & { inside: string }): Promise<Summary[]> {
  // Belt and braces: everything below may create bridges, so refuse to run outside our namespace.
  if (!inNetns(o.inside)) throw new Error(`refusing to run: this process is not in netns ${o.inside}`);
  const bin = vmlanBin();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("VMLAN_")) env[k] = v;
  env.VMLAN_STATE_DIR = process.env.VMLAN_STATE_DIR!;
  const vmlan = (...args: string[]) => spawnChecked([bin, ...args], env);
  const results: Summary[] = [];
  const bench = async (name: string, fn: (i: number) => Promise<void>) => {
    console.error(`bench: ${name} (${o.runs} runs)`);
    results.push(summarize(name, await timed(o.runs, fn)));
  };

  await bench("spawn /bin/true (baseline)", () => spawnChecked(["/bin/true"], env));
  await bench("vmlan version", () => vmlan("version"));
  await vmlan("network", "create", "bench-attach", "--mode", "host");
  await bench("vmlan network list", () => vmlan("network", "list"));
  await bench("vmlan attach (new id)", (i) => vmlan("attach", "bench-attach", "--id", `run-${i}`));
  await bench("vmlan network create + rm", async (i) => {
    await vmlan("network", "create", `bench-rt-${i}`, "--mode", "host");
    await vmlan("network", "rm", `bench-rt-${i}`);
  });
  await vmlan("network", "rm", "bench-attach", "--force");
  // The same in-process allocations `bench scale` measures (scripts/scale/commands.ts).
  const { inProcessAllocations } = await import("./scale/commands.ts");
  const alloc = await inProcessAllocations(process.env.VMLAN_STATE_DIR!, o.runs);
  results.push({ ...alloc.total, name: `${alloc.count} allocations in one process` }, { ...alloc.batch, name: `${alloc.count} allocations in one transaction` });
  return results;
}

/** Creates the namespace and state dir, runs this script inside, and always removes both. */
async function runInFreshNetns(o: Options): Promise<Summary[]> {
  if (process.getuid?.() !== 0) throw new Error("control-plane needs root: it creates a network namespace");
  vmlanBin(); // fail before creating anything when there is no binary
  const ns = `vmlan-bench-${crypto.randomUUID().slice(0, 8)}`;
  const stateDir = mkdtempSync(join(tmpdir(), "vmlan-bench-"));
  const ip = (...args: string[]) => Bun.spawnSync(["ip", ...args], { stdio: ["ignore", "inherit", "inherit"] }).exitCode;
  const cleanup = () => {
    ip("netns", "del", ns);
    rmSync(stateDir, { recursive: true, force: true });
  };
  process.once("SIGINT", () => { cleanup(); process.exit(130); });
  process.once("SIGTERM", () => { cleanup(); process.exit(143); });
  try {
    if (ip("netns", "add", ns) !== 0) throw new Error(`ip netns add ${ns} failed`);
    ip("-n", ns, "link", "set", "lo", "up");
    const child = Bun.spawn(
      ["ip", "netns", "exec", ns, process.execPath, import.meta.path, "control-plane", "--runs", String(o.runs), "--inside", ns],
      { env: { ...process.env, VMLAN_STATE_DIR: stateDir }, stdin: "ignore", stdout: "pipe", stderr: "inherit" },
    );
    const [code, out] = await Promise.all([child.exited, new Response(child.stdout).text()]);
    if (code !== 0) throw new Error(`bench inside ${ns} exited ${code}`);
    return JSON.parse(out) as Summary[];
  } finally {
    cleanup();
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { runs: { type: "string", default: "20" }, json: { type: "boolean", default: false }, format: { type: "string", default: "table" }, inside: { type: "string" }, only: { type: "string" } },
  });
  if (values.format !== "table" && values.format !== "json") {
    console.error(`invalid --format "${values.format}": use table or json`);
    return 2;
  }
  if (values.format === "json") values.json = true;
  const name = positionals[0];
  const bench = name ? BENCHES[name] : undefined;
  if (!bench) {
    console.error(`${name ? `unknown benchmark "${name}"` : "no benchmark given"}; one of: ${Object.keys(BENCHES).join(", ")}`);
    return 2;
  }
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) {
    console.error(`--runs must be a positive integer, got "${values.runs}"`);
    return 2;
  }
  const json = values.json;
  if (values.inside) {
    // Inside control-plane's namespace: the raw summaries go to the parent, which builds the report.
    console.log(JSON.stringify(await controlPlaneInside({ runs, json, inside: values.inside })));
    return 0;
  }
  printReport(await bench({ runs, json, only: values.only }), json ? "json" : "table");
  return 0;
}

if (import.meta.main) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}
