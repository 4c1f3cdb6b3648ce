/**
 * `bun run bench helper`: what one `vmlan helper` costs, next to the runtime's own floor measured in
 * the same run (a compiled Bun hello world that prints one line and stays; and the helper's shape in
 * Bun: a compiled program that opens an SQLite store in WAL mode, binds libc through bun:ffi and
 * starts one Worker that binds libc too and waits in poll(2), its line once the Worker is up; and the
 * same without the Worker, waiting in poll(2) on the main thread between turns of the event loop, as
 * the helper forwards on Linux):
 *   - ready: milliseconds from spawn to its first stdout line (the helper's start line, `--fd 3`;
 *     `vmlan version` too: the binary's own start without any helper work);
 *   - RSS: VmRSS 300 ms after that line (idle), and while bench/c/traffic.c sends 1500-byte frames
 *     into the helper's VM socket at full rate, without and with --enable-tso (64 KiB slots): after
 *     BENCH_WARMUP seconds of it (default 6: the start's own pages are given back after 1 s and
 *     every 5 s, datapath/code-pages.ts), VmRSS every 100 ms for BENCH_SECONDS (default 5): the
 *     largest and the median sample; VmHWM, the largest RSS the process ever had (its start); of
 *     each, RssFile: the pages of the executable and libraries mapped in (most of it the Bun
 *     runtime's own code, shared with every process that maps it), the rest is the heaps (RssAnon,
 *     what one more helper costs); and once more without --enable-tso with VMLAN_HELPER_TRIM=0
 *     (its pages kept), so what giving them back changes is measured in the same run.
 * The binary's pages are dropped from the page cache first (dd iflag=nocache count=0): on a fault the
 * kernel also maps up to 16 neighbouring pages that are in the cache (fault-around), so a binary just
 * built or copied, wholly cached, showed 4–6 MB more RssFile idle than the same bytes after a while.
 * Targets (issue #15 §3): RSS at full rate ≤ 30 MB, ready ≤ 15 ms. Median of --runs (default 5) for
 * ready and idle RSS. Runs inside a fresh namespace vmlan-bench-<id> (deleted afterwards); needs root
 * and gcc.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { vmlanBin } from "../test/support/binary.ts";
import { libc } from "../ffi/libc/load.ts";
import { vmSocketpair } from "../src/datapath/vm-socket.ts";
import { lineReader, median, sh } from "./bench-dp-common.ts";
import { loadAverage, ratio, round2, type Report } from "./bench-report.ts";

const ROOT = join(import.meta.dir, "..");
type Proc = ReturnType<typeof Bun.spawn>;
export type HelperRow = { what: string; runs: number; readyMs: number | null; rssMB: number; fileMB: number | null; peakMB: number | null; medianMB?: number; loaded?: string[] };

const status = (pid: number, key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

async function stop(p: Proc): Promise<void> {
  if (p.exitCode === null) p.kill("SIGTERM");
  const t = setTimeout(() => p.kill("SIGKILL"), 5000);
  await p.exited;
  clearTimeout(t);
}

/** The in-process path (no services daemon asked), for the A/B against the daemon's path in the same run. */
const IN_PROCESS = { VMLAN_HELPER_IN_PROCESS: "1" };

/** What of the store and libnftables a helper has mapped or open (its module graph's big parts). */
function storeAndNft(pid: number): string[] {
  const maps = readFileSync(`/proc/${pid}/maps`, "utf8");
  const fds = readdirSync(`/proc/${pid}/fd`).map((fd) => { try { return readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { return ""; } });
  return [...(maps.includes("libnftables") ? ["libnftables"] : []), ...(fds.some((f) => f.includes("vmlan.db")) || maps.includes("vmlan.db") ? ["store"] : [])];
}

/** `vmlan services run` in the bench's namespace: helpers of its state dir then take their port from it. */
async function startDaemon(): Promise<Proc> {
  const p = Bun.spawn([vmlanBin(), "services", "run"], { stdio: ["ignore", "ignore", "ignore"] });
  const sock = join(process.env.VMLAN_STATE_DIR!, "helper.sock");
  for (let i = 0; i < 100 && !existsSync(sock); i++) await Bun.sleep(100);
  if (!existsSync(sock)) throw new Error("the services daemon did not serve helpers within 10 s");
  return p;
}

/** A helper under a flood of 1500-byte frames from the VM: its largest and median RSS over `seconds`, after `warmup`. */
async function fullRate(dir: string, tso: boolean, env: Record<string, string>, warmup: number, seconds: number): Promise<Omit<HelperRow, "what" | "runs" | "readyMs">> {
  const [vmEnd, helperEnd] = vmSocketpair(tso);
  const v = await ready([vmlanBin(), "helper", "--fd", "3", "--network", "hb", "--id", `rate-${crypto.randomUUID().slice(0, 8)}`, ...(tso ? ["--enable-tso"] : [])], [helperEnd], env);
  const gen = Bun.spawn([join(dir, "traffic"), "gen", "--fd", "3", "--count", "1000000000", "--size", "1500", "--dst", "02:00:00:be:0c:99", "--src", "02:00:00:be:0c:98"], { stdio: ["ignore", "ignore", "inherit", vmEnd] });
  await Bun.sleep(warmup * 1000);
  let peak = 0;
  let file = 0;
  const samples: number[] = [];
  for (let t = 0; t < seconds * 10; t++) {
    await Bun.sleep(100);
    const rss = status(v.p.pid, "VmRSS");
    samples.push(rss);
    if (rss > peak) [peak, file] = [rss, status(v.p.pid, "RssFile")];
  }
  const hwm = status(v.p.pid, "VmHWM");
  gen.kill("SIGKILL");
  await stop(v.p);
  for (const fd of [vmEnd, helperEnd]) libc().close(fd);
  return { rssMB: peak, fileMB: file, peakMB: hwm, medianMB: median(samples) };
}

/** Spawns argv (`fds` as 3, 4, ...), waits for its first line: ms to it, and the idle RSS 300 ms later. */
async function ready(argv: string[], fds: number[] = [], env: Record<string, string> = {}): Promise<{ p: Proc; ms: number; rss: number; file: number }> {
  const t0 = performance.now();
  const p = Bun.spawn(argv, { stdio: ["ignore", "pipe", "inherit", ...fds], env: { ...process.env, VMLAN_HELPER_SUPERVISED: "1", ...env } }); // routine stops unlogged
  await lineReader(p)();
  const ms = performance.now() - t0;
  await Bun.sleep(300);
  return { p, ms, rss: status(p.pid, "VmRSS"), file: status(p.pid, "RssFile") };
}

async function inside(runs: number, seconds: number, warmup: number): Promise<HelperRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "vmlan-bench-helper-"));
  try {
    writeFileSync(join(dir, "hello.ts"), `console.log("hello");\nsetInterval(() => {}, 1 << 30);\n`);
    sh([process.execPath, "build", "--compile", "--outfile", join(dir, "hello"), join(dir, "hello.ts")]);
    writeFileSync(join(dir, "shape.ts"), SHAPE);
    writeFileSync(join(dir, "shape-worker.ts"), SHAPE_WORKER);
    sh([process.execPath, "build", "--compile", "--bytecode", "--format=esm", "--minify", "--outfile", join(dir, "shape"), join(dir, "shape.ts"), join(dir, "shape-worker.ts")]);
    writeFileSync(join(dir, "inline.ts"), SHAPE_INLINE);
    sh([process.execPath, "build", "--compile", "--bytecode", "--format=esm", "--minify", "--outfile", join(dir, "inline"), join(dir, "inline.ts")]);
    sh(["gcc", "-O2", "-o", join(dir, "traffic"), join(ROOT, "bench", "c", "traffic.c")]);
    sh(["ip", "link", "set", "lo", "up"]);
    sh([vmlanBin(), "network", "create", "hb", "--subnet", "10.79.0.0/24", "--mode", "host"]);
    const hello = { ms: [] as number[], rss: [] as number[], file: [] as number[] };
    const shape = { ms: [] as number[], rss: [] as number[], file: [] as number[] };
    const inline = { ms: [] as number[], rss: [] as number[], file: [] as number[] };
    const helper = { ms: [] as number[], rss: [] as number[], file: [] as number[] };
    const viaDaemon = { ms: [] as number[], rss: [] as number[], file: [] as number[] };
    const loaded: Record<string, string[]> = {};
    const version: number[] = [];
    const daemon = await startDaemon();
    for (let i = 0; i < runs; i++) { // interleaved, so both see the same load
      const h = await ready([join(dir, "hello")]);
      hello.ms.push(h.ms); hello.rss.push(h.rss); hello.file.push(h.file);
      await stop(h.p);
      const s = await ready([join(dir, "shape"), join(dir, "shape.db")]);
      shape.ms.push(s.ms); shape.rss.push(s.rss); shape.file.push(s.file);
      await stop(s.p);
      const n = await ready([join(dir, "inline"), join(dir, "inline.db")]);
      inline.ms.push(n.ms); inline.rss.push(n.rss); inline.file.push(n.file);
      await stop(n.p);
      const t0 = performance.now(); // the binary's own start (its bundle loaded, one line printed), no helper work
      await lineReader(Bun.spawn([vmlanBin(), "version"], { stdio: ["ignore", "pipe", "inherit"] }))();
      version.push(performance.now() - t0);
      for (const [into, env, key] of [[helper, IN_PROCESS, "in process"], [viaDaemon, {}, "through the services daemon"]] as const) {
        const [vmEnd, helperEnd] = vmSocketpair();
        const v = await ready([vmlanBin(), "helper", "--fd", "3", "--network", "hb", "--id", `ready-${i}`], [helperEnd], env);
        into.ms.push(v.ms); into.rss.push(v.rss); into.file.push(v.file);
        loaded[key] = storeAndNft(v.p.pid);
        await stop(v.p);
        for (const fd of [vmEnd, helperEnd]) libc().close(fd);
      }
    }
    const rows: HelperRow[] = [
      { what: "compiled hello world (the runtime's floor)", runs, readyMs: median(hello.ms), rssMB: median(hello.rss), fileMB: median(hello.file), peakMB: null },
      { what: "compiled SQLite + FFI + one polling Worker (the helper's shape)", runs, readyMs: median(shape.ms), rssMB: median(shape.rss), fileMB: median(shape.file), peakMB: null },
      { what: "compiled SQLite + FFI, polling on the main thread (no Worker)", runs, readyMs: median(inline.ms), rssMB: median(inline.rss), fileMB: median(inline.file), peakMB: null },
      { what: "vmlan version (the binary's start)", runs, readyMs: median(version), rssMB: 0, fileMB: null, peakMB: null },
      { what: "vmlan helper --fd 3 (idle), in process", runs, readyMs: median(helper.ms), rssMB: median(helper.rss), fileMB: median(helper.file), peakMB: null, loaded: loaded["in process"] },
      { what: "vmlan helper --fd 3 (idle), through the services daemon", runs, readyMs: median(viaDaemon.ms), rssMB: median(viaDaemon.rss), fileMB: median(viaDaemon.file), peakMB: null, loaded: loaded["through the services daemon"] },
    ];
    // In process, then through the daemon; the third keeps its pages (VMLAN_HELPER_TRIM=0): what giving them back changes, in the same run.
    for (const [tso, trim, daemonPath] of [[false, true, false], [true, true, false], [false, false, false], [false, true, true], [true, true, true]] as const) {
      const env = { ...(daemonPath ? {} : IN_PROCESS), ...(trim ? {} : { VMLAN_HELPER_TRIM: "0" }) };
      const r = await fullRate(dir, tso, env, warmup, seconds);
      rows.push({ what: `vmlan helper${tso ? " --enable-tso" : ""} at full rate (1500 B vm→host, ${warmup}+${seconds} s)${daemonPath ? ", through the services daemon" : ", in process"}${trim ? "" : ", pages kept"}`, runs: 1, readyMs: null, ...r });
    }
    await stop(daemon);
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The helper's shape in Bun, nothing of vmlan's: a store, libc through FFI, one Worker waiting in poll(2). */
const SHAPE = `import { Database } from "bun:sqlite";
import { dlopen, FFIType } from "bun:ffi";
const db = new Database(process.argv[2], { create: true });
db.run("PRAGMA journal_mode = WAL");
db.run("CREATE TABLE IF NOT EXISTS t (a INTEGER)");
db.run("INSERT INTO t VALUES (1)");
dlopen("libc.so.6", { getpid: { args: [], returns: FFIType.i32 } }).symbols.getpid();
const w = new Worker("./shape-worker.ts");
w.onmessage = () => console.log("ready");
`;
const SHAPE_WORKER = `import { dlopen, FFIType } from "bun:ffi";
const { poll } = dlopen("libc.so.6", { poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 } }).symbols;
self.postMessage("up");
for (;;) poll(null, 0, 200);
`;

/** The helper's shape on Linux since it forwards on its main thread: no Worker, poll(2) between turns of the event loop. */
const SHAPE_INLINE = `import { Database } from "bun:sqlite";
import { dlopen, FFIType, ptr } from "bun:ffi";
const db = new Database(process.argv[2], { create: true });
db.run("PRAGMA journal_mode = WAL");
db.run("CREATE TABLE IF NOT EXISTS t (a INTEGER)");
db.run("INSERT INTO t VALUES (1)");
const { poll } = dlopen("libc.so.6", { poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 } }).symbols;
const fds = new Int32Array([-1, 0]);
const p = ptr(fds);
console.log("ready");
const turn = () => { poll(p, 1, 100); setImmediate(turn); };
setImmediate(turn);
`;

const TARGETS = { rssMB: 30, readyMs: 15 };

function helperReport(rows: HelperRow[], inputs: Record<string, unknown>): Report {
  const [hello, shape, inline, version, idle, dIdle, rate, tso, kept, dRate, dTso] = rows as [HelperRow, HelperRow, HelperRow, HelperRow, HelperRow, HelperRow, HelperRow, HelperRow, HelperRow, HelperRow, HelperRow];
  return {
    bench: "helper", inputs: { ...inputs, targets: TARGETS },
    medians: {
      "ready ms": { "hello world": round2(hello.readyMs!), "helper's shape": round2(shape.readyMs!), "shape without a Worker": round2(inline.readyMs!), "vmlan version": round2(version.readyMs!), helper: round2(idle.readyMs!), "helper through the daemon": round2(dIdle.readyMs!) },
      "RSS MB": {
        "hello world": round2(hello.rssMB), "helper's shape": round2(shape.rssMB), "shape without a Worker": round2(inline.rssMB), "helper idle": round2(idle.rssMB), "helper full rate": round2(rate.rssMB),
        "helper --enable-tso full rate": round2(tso.rssMB), "helper full rate, pages kept": round2(kept.rssMB),
        "daemon path idle": round2(dIdle.rssMB), "daemon path full rate": round2(dRate.rssMB), "daemon path --enable-tso full rate": round2(dTso.rssMB),
      },
      "RSS MB, median sample at full rate": { helper: round2(rate.medianMB!), "helper --enable-tso": round2(tso.medianMB!), "helper, pages kept": round2(kept.medianMB!), "daemon path": round2(dRate.medianMB!), "daemon path --enable-tso": round2(dTso.medianMB!) },
      "VmHWM MB (the start's peak)": { helper: round2(rate.peakMB!), "helper --enable-tso": round2(tso.peakMB!), "helper, pages kept": round2(kept.peakMB!), "daemon path": round2(dRate.peakMB!), "daemon path --enable-tso": round2(dTso.peakMB!) },
      "RssFile MB": { "hello world": round2(hello.fileMB!), "helper's shape": round2(shape.fileMB!), "shape without a Worker": round2(inline.fileMB!), "helper idle": round2(idle.fileMB!), "helper full rate": round2(rate.fileMB!), "helper --enable-tso full rate": round2(tso.fileMB!), "daemon path idle": round2(dIdle.fileMB!) },
    },
    ratios: {
      "helper / hello world": { "ready ms": ratio(idle.readyMs, hello.readyMs), "RSS at full rate": ratio(rate.rssMB, hello.rssMB) },
      "daemon path / hello world": { "ready ms": ratio(dIdle.readyMs, hello.readyMs), "RSS at full rate": ratio(dRate.rssMB, hello.rssMB) },
      "daemon path / in process": { "ready ms": ratio(dIdle.readyMs, idle.readyMs), "RSS idle": ratio(dIdle.rssMB, idle.rssMB), "RSS at full rate": ratio(dRate.rssMB, rate.rssMB) },
      "helper / the helper's shape": { "ready ms": ratio(idle.readyMs, shape.readyMs), "RSS idle": ratio(idle.rssMB, shape.rssMB) },
      "helper / the same with its pages kept": { "RSS at full rate": ratio(rate.rssMB, kept.rssMB) },
      "helper / the shape without a Worker": { "ready ms": ratio(idle.readyMs, inline.readyMs), "RSS idle": ratio(idle.rssMB, inline.rssMB), "RSS at full rate": ratio(rate.rssMB, inline.rssMB) },
      "helper / target": { "ready ms": ratio(idle.readyMs, TARGETS.readyMs), "RSS at full rate": ratio(Math.max(rate.rssMB, tso.rssMB), TARGETS.rssMB) },
      "daemon path / target": { "ready ms": ratio(dIdle.readyMs, TARGETS.readyMs), "RSS at full rate": ratio(Math.max(dRate.rssMB, dTso.rssMB), TARGETS.rssMB) },
    },
    tables: [{
      head: ["process", "ready ms", "RSS MB", "of it RssFile MB", "median RSS MB", "VmHWM MB", "store / libnftables loaded"],
      rows: rows.map((r) => [r.what, r.readyMs === null ? null : round2(r.readyMs), r.rssMB ? round2(r.rssMB) : null, r.fileMB === null ? null : round2(r.fileMB), r.medianMB === undefined ? null : round2(r.medianMB), r.peakMB === null ? null : round2(r.peakMB),
        r.loaded ? r.loaded.join(", ") || "neither" : null]),
      note: `ready and idle RSS: median of ${hello.runs} runs; full rate: after ${inputs.warmup} s of it, the largest (and the median) VmRSS sampled every 100 ms for ${inputs.seconds} s; VmHWM: the largest RSS ever (the start, before its pages are given back); RssFile: mapped pages of the executable and libraries (the runtime's code, shared; the rest is heap); targets: RSS ≤ ${TARGETS.rssMB} MB at full rate, ready ≤ ${TARGETS.readyMs} ms`,
    }],
    detail: rows,
  };
}

export async function helperBench(o: { runs: number }): Promise<Report> {
  if (process.getuid?.() !== 0) throw new Error("helper needs root: it creates a network namespace");
  vmlanBin();
  const ns = `vmlan-bench-${crypto.randomUUID().slice(0, 8)}`;
  const state = mkdtempSync(join(tmpdir(), "vmlan-bench-hs-"));
  const cleanup = () => {
    Bun.spawnSync(["ip", "netns", "del", ns], { stderr: "ignore" });
    rmSync(state, { recursive: true, force: true });
  };
  process.once("SIGINT", () => { cleanup(); process.exit(130); });
  try {
    sh(["dd", `if=${vmlanBin()}`, "iflag=nocache", "count=0", "status=none"]); // every run from the same page-cache state (above)
    sh(["ip", "netns", "add", ns]);
    const seconds = Number(process.env.BENCH_SECONDS ?? 5);
    const warmup = Number(process.env.BENCH_WARMUP ?? 6);
    const child = Bun.spawn(["ip", "netns", "exec", ns, process.execPath, import.meta.path, "--inside", ns, "--runs", String(Math.min(o.runs, 10)), "--seconds", String(seconds), "--warmup", String(warmup)], {
      env: { ...process.env, VMLAN_STATE_DIR: state }, stdin: "ignore", stdout: "pipe", stderr: "inherit",
    });
    const [code, out] = await Promise.all([child.exited, new Response(child.stdout).text()]);
    if (code !== 0) throw new Error(`helper bench inside ${ns} exited ${code}`);
    return helperReport(JSON.parse(out) as HelperRow[], { runs: Math.min(o.runs, 10), warmup, seconds, loadAverage: await loadAverage() });
  } finally {
    cleanup();
  }
}

if (import.meta.main) {
  const a = process.argv.slice(2);
  const get = (k: string) => { const i = a.indexOf(k); return i < 0 ? undefined : a[i + 1]; };
  const ns = get("--inside");
  // Belt and braces: the network below creates a bridge, so refuse to run outside our own namespace.
  if (!ns || !ns.startsWith("vmlan-bench-") || statSync("/proc/self/ns/net").ino !== statSync(`/run/netns/${ns}`).ino) {
    throw new Error("refusing to run outside a vmlan-bench namespace; use `bun run bench helper`");
  }
  console.log(JSON.stringify(await inside(Number(get("--runs") ?? 5), Number(get("--seconds") ?? 5), Number(get("--warmup") ?? 6))));
}
