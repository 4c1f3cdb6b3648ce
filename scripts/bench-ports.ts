/**
 * `bun run bench ports`: what a published port costs, in one run, against the same traffic to the
 * guest's own address. The guest is a namespace on a vmlan bridge running bench/c/tcpbench.c (a sink
 * and a 1-byte echo); the client is the same program on the host. Paths:
 *   direct             host -> guest address (the reference)
 *   kernel 127.0.0.1   host -> 127.0.0.1:P, vmlan's DNAT with route_localnet (the default -p)
 *   kernel host addr   host -> the gateway address:P (0.0.0.0 spec), DNAT without route_localnet
 *   vmlan [::1] proxy  host -> [::1]:P, the services daemon's userspace fallback (IPv6 loopback)
 *   bench proxy        host -> 127.0.0.1:P, a userspace proxy of this bench (scripts/bench-ports-proxy.ts)
 * Measured: TCP throughput of one connection (BENCH_MB MiB, default 1024) and connections per second
 * (connect, 1 byte each way, close; BENCH_SECONDS, default 2), --runs times each (at most 5, order
 * rotating). Target: the kernel paths at >= 0.95x direct. Needs root and gcc: creates two namespaces
 * of its own (`vmlan-bench-<random>` for the host, `-g` for the guest) and removes them.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { vmlanBin } from "../test/support/binary.ts";
import type { Figures, Report } from "./bench-report.ts";

type Options = { runs: number; json: boolean; inside?: string };
type Stat = { median: number; p10: number; p90: number; runs: number };
const ROOT = join(import.meta.dir, "..");
/** A run moves BENCH_MB through five paths and holds each for BENCH_SECONDS twice over: 5 runs take minutes already. */
const MAX_RUNS = 5;
/** Connection-rate slices per run and path (BENCH_SECONDS split in this many). */
const RATE_SLICES = 4;

function stat(xs: number[]): Stat {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => { const i = (s.length - 1) * p, lo = Math.floor(i); return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (i - lo); };
  const r = (x: number) => Math.round(x * 100) / 100;
  return { median: r(q(0.5)), p10: r(q(0.1)), p90: r(q(0.9)), runs: s.length };
}

function sh(argv: string[]): string {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (${r.exitCode}): ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

async function readyLine(p: ReturnType<typeof Bun.spawn>, what: string): Promise<void> {
  const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
  const { value } = await reader.read();
  if (!value || !new TextDecoder().decode(value).includes("ready")) throw new Error(`${what} did not start`);
  reader.releaseLock();
}

interface Path { name: string; host: string; sink: number; echo: number }

async function inside(o: Options): Promise<unknown> {
  const tmp = mkdtempSync(join(tmpdir(), "vmlan-bench-ports-"));
  const env = { ...process.env, VMLAN_STATE_DIR: join(tmp, "state") } as Record<string, string>;
  const vmlan = (...a: string[]) => {
    const r = Bun.spawnSync([vmlanBin(), ...a], { env, stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`vmlan ${a.join(" ")}: ${r.stderr.toString().trim()}`);
    return r.stdout.toString();
  };
  const guestNs = `${o.inside}-g`;
  const procs: ReturnType<typeof Bun.spawn>[] = [];
  const mb = Number(process.env.BENCH_MB ?? 1024);
  const seconds = Number(process.env.BENCH_SECONDS ?? 2);
  try {
    const bin = join(tmp, "tcpbench");
    sh(["gcc", "-O2", "-pthread", "-o", bin, join(ROOT, "bench/c/tcpbench.c")]);
    vmlan("system", "start");
    vmlan("network", "create", "bench", "--subnet", "10.97.0.0/24", "--subnet-v6", "fd97::/64");
    const a = JSON.parse(vmlan("attach", "bench", "--id", "srv", "--format", "json"));
    sh(["ip", "netns", "add", guestNs]);
    sh(["ip", "link", "add", "vbench0", "type", "veth", "peer", "name", "eth0", "netns", guestNs]);
    sh(["ip", "link", "set", "vbench0", "master", "vl-bench", "up"]);
    const g = (...argv: string[]) => sh(["ip", "netns", "exec", guestNs, ...argv]);
    g("ip", "link", "set", "lo", "up");
    g("ip", "link", "set", "eth0", "address", a.mac, "up");
    g("ip", "addr", "add", `${a.address}/24`, "dev", "eth0");
    g("ip", "-6", "addr", "add", `${a.addressV6}/64`, "dev", "eth0", "nodad");
    g("ip", "route", "add", "default", "via", a.gateway);
    g("ip", "-6", "route", "add", "default", "via", "fd97::1");
    const server = Bun.spawn(["ip", "netns", "exec", guestNs, bin, "serve", "--sink", "5001", "--echo", "5002"], { stdout: "pipe", stderr: "inherit" });
    procs.push(server);
    await readyLine(server, "tcpbench serve");
    vmlan("port", "add", "bench", "--id", "srv", "15001:5001", "15002:5002", "0.0.0.0:16001:5001", "0.0.0.0:16002:5002", "[::1]:25001:5001", "[::1]:25002:5002");
    const proxy = Bun.spawn([process.execPath, join(ROOT, "scripts/bench-ports-proxy.ts"), "127.0.0.1", "35001", a.address, "5001", "127.0.0.1", "35002", a.address, "5002"], { stdout: "pipe", stderr: "inherit" });
    procs.push(proxy);
    await readyLine(proxy, "bench proxy");
    // The daemon takes its [::1] listeners on the reload port add sent; wait for them.
    for (let i = 0; i < 100 && !sh(["ss", "-Hltn"]).includes("[::1]:25002"); i++) await Bun.sleep(50);
    const paths: Path[] = [
      { name: "direct", host: a.address, sink: 5001, echo: 5002 },
      { name: "kernel 127.0.0.1", host: "127.0.0.1", sink: 15001, echo: 15002 },
      { name: "kernel host addr", host: a.gateway, sink: 16001, echo: 16002 },
      { name: "vmlan [::1] proxy", host: "::1", sink: 25001, echo: 25002 },
      { name: "bench proxy", host: "127.0.0.1", sink: 35001, echo: 35002 },
    ];
    const gbps = new Map(paths.map((p) => [p.name, [] as number[]]));
    const cps = new Map(paths.map((p) => [p.name, [] as number[]]));
    // Warm-up: one short transfer and a few connections per path (page cache, conntrack, ARP).
    for (const p of paths) {
      sh([bin, "send", "--host", p.host, "--port", String(p.sink), "--mb", "16"]);
      sh([bin, "rate", "--host", p.host, "--port", String(p.echo), "--seconds", "0.2"]);
    }
    // Interleaved: each run moves BENCH_MB once per path, then measures connections in short slices,
    // path after path, RATE_SLICES times, so a burst of load on this shared machine hits every path alike.
    for (let run = 0; run < o.runs; run++) {
      for (let k = 0; k < paths.length; k++) {
        const p = paths[(k + run) % paths.length]!;
        console.error(`bench ports: run ${run + 1}/${o.runs} ${p.name}`);
        const t = sh([bin, "send", "--host", p.host, "--port", String(p.sink), "--mb", String(mb)]).match(/bytes (\d+) seconds ([\d.]+)/)!;
        gbps.get(p.name)!.push((Number(t[1]) * 8) / Number(t[2]) / 1e9);
      }
      for (let slice = 0; slice < RATE_SLICES; slice++) {
        for (let k = 0; k < paths.length; k++) {
          const p = paths[(k + run + slice) % paths.length]!;
          const c = sh([bin, "rate", "--host", p.host, "--port", String(p.echo), "--seconds", String(seconds / RATE_SLICES)]).match(/connections (\d+) seconds ([\d.]+)/)!;
          cps.get(p.name)!.push(Number(c[1]) / Number(c[2]));
        }
      }
    }
    const results = paths.map((p) => ({ path: p.name, gbps: stat(gbps.get(p.name)!), connectionsPerSecond: stat(cps.get(p.name)!) }));
    const direct = results[0]!;
    const r2 = (x: number) => Math.round(x * 100) / 100;
    const ratios = Object.fromEntries(results.slice(1).map((r) => [r.path, {
      throughput: r2(r.gbps.median / direct.gbps.median), connections: r2(r.connectionsPerSecond.median / direct.connectionsPerSecond.median),
    }]));
    return { bench: "ports", mb, seconds, loadavg: Number((await Bun.file("/proc/loadavg").text()).split(" ")[0]), results, ratiosToDirect: ratios, target: 0.95 };
  } finally {
    for (const p of procs) p.kill("SIGKILL");
    Bun.spawnSync([vmlanBin(), "system", "stop"], { env, stdout: "ignore", stderr: "ignore" });
    Bun.spawnSync(["ip", "netns", "del", guestNs], { stderr: "ignore" });
    rmSync(tmp, { recursive: true, force: true });
  }
}

type InsideReport = {
  results: { path: string; gbps: Stat; connectionsPerSecond: Stat }[];
  ratiosToDirect: Record<string, { throughput: number; connections: number }>;
  loadavg: number; mb: number; seconds: number; target: number;
};

/** The namespace's numbers as a Report (scripts/bench-report.ts): a table for people, medians and ratios by key. */
function toReport(r: InsideReport, binary: string): Report {
  const medians: Figures = {};
  const ratios: Figures = {};
  for (const x of r.results) {
    medians[`${x.path} Gbit/s`] = x.gbps.median;
    medians[`${x.path} conn/s`] = Math.round(x.connectionsPerSecond.median);
  }
  for (const [path, x] of Object.entries(r.ratiosToDirect)) {
    ratios[`${path} / direct throughput`] = x.throughput;
    ratios[`${path} / direct connections`] = x.connections;
  }
  const one = (path: string) => r.ratiosToDirect[path];
  return {
    bench: "ports",
    inputs: { mb: r.mb, seconds: r.seconds, runs: r.results[0]!.gbps.runs, loadavg: r.loadavg, target: r.target, binary },
    medians,
    ratios,
    tables: [{
      head: ["path", "Gbit/s", "p10", "p90", "x direct", "conn/s", "p10", "p90", "x direct"],
      rows: r.results.map((x) => [x.path, x.gbps.median, x.gbps.p10, x.gbps.p90, one(x.path)?.throughput ?? 1,
        Math.round(x.connectionsPerSecond.median), Math.round(x.connectionsPerSecond.p10), Math.round(x.connectionsPerSecond.p90), one(x.path)?.connections ?? 1]),
      note: `one connection of ${r.mb} MiB per run; connections: 1 byte each way; target >= ${r.target}x direct for the kernel paths`,
    }],
    detail: r.results,
  };
}

export async function ports(o: Options): Promise<Report> {
  if (process.getuid?.() !== 0) throw new Error("bench ports needs root: it creates network namespaces");
  if (!Bun.which("gcc")) throw new Error("bench ports needs gcc (bench/c/tcpbench.c)");
  const binary = vmlanBin();
  const host = `vmlan-bench-${crypto.randomUUID().slice(0, 8)}`;
  try {
    sh(["ip", "netns", "add", host]);
    sh(["ip", "-n", host, "link", "set", "lo", "up"]);
    const runs = Math.min(o.runs, MAX_RUNS);
    const child = Bun.spawn(["ip", "netns", "exec", host, process.execPath, import.meta.path, "--runs", String(runs), "--inside", host], { stdin: "ignore", stdout: "pipe", stderr: "inherit" });
    const [code, out] = await Promise.all([child.exited, new Response(child.stdout).text()]);
    if (code !== 0) throw new Error(`bench inside ${host} exited ${code}`);
    return toReport(JSON.parse(out.split("\n").find((l) => l.startsWith("{"))!) as InsideReport, binary);
  } finally {
    Bun.spawnSync(["ip", "netns", "del", host], { stderr: "ignore" });
  }
}

// Inside the namespace ports() made: the numbers as one JSON line for the parent.
if (import.meta.main) {
  const a = process.argv.slice(2);
  const get = (flag: string) => (a.includes(flag) ? a[a.indexOf(flag) + 1] : undefined);
  const ns = get("--inside");
  // Everything below creates namespaces, a bridge and nft tables: only in the namespace the parent made.
  if (!ns || statSync("/proc/self/ns/net").ino !== statSync(`/run/netns/${ns}`).ino) throw new Error("bench-ports.ts runs itself inside its namespace: use `bun run bench ports`");
  console.log(JSON.stringify(await inside({ runs: Number(get("--runs") ?? 3), json: true, inside: get("--inside") })));
}
