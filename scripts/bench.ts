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
 * Every bench takes --json or --format json.
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

type Result = { name: string; runs: number; median: number; p10: number; p90: number };
type Options = { runs: number; json: boolean; inside?: string };
/** Subcommands. */
const BENCHES: Record<string, (o: Options) => Promise<Result[]>> = {
  "control-plane": controlPlane,
  // Prints its own table (frames/s, Gbit/s, ratio to C); see scripts/bench-datapath.ts.
  datapath: (o) => import("./bench-datapath.ts").then((m) => m.datapath(o)),
  // The helper's RSS at the start and end of a full-rate run (BENCH_SOAK_SECONDS, default 60).
  "datapath-soak": (o) => import("./bench-datapath.ts").then((m) => m.soak(o)),
  // Prints its own table (Mbit/s, ratio to QEMU user-mode); see scripts/bench-guests.ts.
  guests: (o) => import("./bench-guests.ts").then((m) => m.guests(o)),
  // Prints its own table (ADD/DEL median and p90, ratio to bridge + host-local); see scripts/bench-cni.ts.
  cni: (o) => import("./bench-cni.ts").then((m) => m.cni(o)),
  // Print their own tables (answered, lost, fds, RSS, leases); see scripts/bench-floods.ts.
  "dns-flood": (o) => import("./bench-floods.ts").then((m) => m.dnsFlood(o)),
  "dhcp-flood": (o) => import("./bench-floods.ts").then((m) => m.dhcpFlood(o)),
  // Prints its own table (create/rm time and the host's outage, against iproute2 by hand); see scripts/bench-bridged.ts.
  bridged: (o) => import("./bench-bridged.ts").then((m) => m.bridged(o)),
};

function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (pos - lo);
}

export function summarize(name: string, samples: number[]): Result {
  const s = [...samples].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { name, runs: s.length, median: r(quantile(s, 0.5)), p10: r(quantile(s, 0.1)), p90: r(quantile(s, 0.9)) };
}

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

async function controlPlane(o: Options): Promise<Result[]> {
  if (!o.inside) return runInFreshNetns(o);
  // Belt and braces: everything below may create bridges, so refuse to run outside our namespace.
  if (!inNetns(o.inside)) throw new Error(`refusing to run: this process is not in netns ${o.inside}`);
  const bin = vmlanBin();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("VMLAN_")) env[k] = v;
  env.VMLAN_STATE_DIR = process.env.VMLAN_STATE_DIR!;
  const vmlan = (...args: string[]) => spawnChecked([bin, ...args], env);
  const results: Result[] = [];
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
  results.push(await allocations(o, 10_000));
  return results;
}

/** 10,000 attaches in this process through the core services, over a file-backed store. */
async function allocations(o: Options, count: number): Promise<Result> {
  const { NetworkService } = await import("../src/core/networks.ts");
  const { LeaseService } = await import("../src/core/leases.ts");
  const { Store } = await import("../src/core/store/store.ts");
  // The host side is not what we measure: a platform that touches nothing.
  const noHost = {
    os: "linux" as const, checkPrivileges() {}, async checkSubnetFree() {}, async ensureNetwork() {}, async removeNetwork() {},
    async status() { return { name: "", bridge: "", up: false, addresses: [], nat: false }; },
    async probeUplink(): Promise<never> { throw new Error("no uplinks in this bench"); }, async listUplinks() { return []; },
  };
  const runs = Math.min(o.runs, 5); // one run is 10,000 transactions; 5 keep the bench under a minute
  console.error(`bench: ${count} allocations in one process (${runs} runs)`);
  const samples = await timed(runs, async (run) => {
    const store = new Store(join(process.env.VMLAN_STATE_DIR!, `alloc-${run}`, "vmlan.db"));
    try {
      await new NetworkService(store, noHost).create({ name: "alloc", mode: "host", subnet: "10.64.0.0/16" });
      const leases = new LeaseService(store);
      for (let i = 0; i < count; i++) leases.attach({ network: "alloc", id: `vm-${i}` });
    } finally {
      store.close();
    }
  });
  return summarize(`${count} allocations in one process`, samples);
}

/** Creates the namespace and state dir, runs this script inside, and always removes both. */
async function runInFreshNetns(o: Options): Promise<Result[]> {
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
    return JSON.parse(out) as Result[];
  } finally {
    cleanup();
  }
}

function printTable(results: Result[]): void {
  const rows = [["benchmark", "median", "p10", "p90", "runs"], ...results.map((r) => [r.name, r.median.toFixed(1), r.p10.toFixed(1), r.p90.toFixed(1), String(r.runs)])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  console.log(rows.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")).join("\n"));
  console.log("times in ms");
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { runs: { type: "string", default: "20" }, json: { type: "boolean", default: false }, format: { type: "string", default: "table" }, inside: { type: "string" } },
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
  if (values.format !== "table" && values.format !== "json") {
    console.error(`--format must be table or json, got "${values.format}"`);
    return 2;
  }
  const json = values.json || values.format === "json";
  const results = await bench({ runs, json, inside: values.inside });
  // Inside the namespace we always answer JSON to the parent, which renders it. Benches that print
  // their own output return no results.
  if ((json && results.length) || values.inside) console.log(JSON.stringify(values.inside ? results : { bench: name, unit: "ms", results }, null, values.inside ? 0 : 2));
  else if (results.length) printTable(results);
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
