/**
 * `bun run bench datapath`: frames/s through the per-VM datapath, against a C reference.
 *
 *   VM side (socketpair end)            host side
 *   traffic gen/sink ── fd ── [path] ── TAP ── bridge vl-bench ── veth sk0 ══ eth0 (sink namespace)
 *
 * Paths: `vmlan helper --fd 3` (Bun Workers, recvmmsg/sendmmsg ×64), bench/c/forwarder.c (the same
 * loops in C, same batch), and the native TAP (the generator writes the TAP itself: no forwarder).
 * Frames are IPv4/UDP (what a guest sends). The helper's TAP carries vmlan's anti-spoofing rules, as
 * every vmlan port does (issue #12 item 2); `--allow-spoofing` and "native TAP, guarded" (the same
 * rules on a TAP of the bench's own) put their cost next to the rows without them.
 * Then the stream path (QEMU's framing): `vmlan switch` against bench/c/stream-forwarder.c, and the
 * switch with 4 clients (scripts/bench-stream.ts).
 * vm→host: the C generator sends COUNT frames (blocking, so the path paces it); counted as
 * transmitted by the bridge into the veth (/sys/class/net/sk0/statistics/tx_packets, polled).
 * host→vm: a packet socket in the sink namespace sends; the C sink on the VM end counts.
 * Runs in two fresh namespaces (host and sink) that are deleted afterwards; needs root and gcc.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { vmlanBin } from "../test/support/binary.ts";
import { libc } from "../ffi/libc/load.ts";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM } from "../ffi/libc/constants.ts";
import { loadAverage, ratio, round2, type Report } from "./bench-report.ts";

import { countAtVeth, firstLine, lineReader, onPath, onTraffic, parseTraffic, row, sh, type Row, type Sample } from "./bench-dp-common.ts";
import { streamRows } from "./bench-stream.ts";
import { guardPort } from "../src/platform/linux/port-guard.ts";

const ROOT = join(import.meta.dir, "..");
export const SIZES = [64, 1500];
const VM_MAC = "02:00:00:be:0c:01";
type Opts = { runs: number; inside?: string; sink?: string; count: number; soak: number };

/** `bench datapath-soak`: the helper's RSS at the start and end of a full-rate run (default 60 s). */
export async function soak(o: { runs: number }): Promise<Report> {
  return datapath(o, Number(process.env.BENCH_SOAK_SECONDS ?? 60));
}

export async function datapath(o: { runs: number; json?: boolean }, soakSeconds = 0): Promise<Report> {
  if (process.getuid?.() !== 0) throw new Error("datapath needs root: it creates network namespaces");
  vmlanBin();
  if (!Bun.which("gcc")) throw new Error("datapath needs gcc for the C reference (bench/c)");
  const id = crypto.randomUUID().slice(0, 8);
  const [host, sink] = [`vmlan-bench-${id}`, `vmlan-bench-${id}-s`];
  const state = mkdtempSync(join(tmpdir(), "vmlan-bench-dp-"));
  const cleanup = () => {
    for (const ns of [host, sink]) Bun.spawnSync(["ip", "netns", "del", ns], { stderr: "ignore" });
    rmSync(state, { recursive: true, force: true });
  };
  process.once("SIGINT", () => { cleanup(); process.exit(130); });
  try {
    for (const ns of [host, sink]) sh(["ip", "netns", "add", ns]);
    const runs = Math.min(o.runs, 3);
    const child = Bun.spawn(["ip", "netns", "exec", host, process.execPath, import.meta.path, "--inside", host, "--sink", sink, "--runs", String(runs), "--soak", String(soakSeconds)], {
      env: { ...process.env, VMLAN_STATE_DIR: state }, stdin: "ignore", stdout: "pipe", stderr: "inherit",
    });
    const [code, out] = await Promise.all([child.exited, new Response(child.stdout).text()]);
    if (code !== 0) throw new Error(`datapath bench inside ${host} exited ${code}`);
    const inputs = { runs, loadavg: await loadAverage(), binary: vmlanBin(), frameSizes: SIZES };
    return soakSeconds ? soakReport(JSON.parse(out) as SoakResult, inputs) : rowsReport(JSON.parse(out) as Row[], inputs);
  } finally {
    cleanup();
  }
}

/** The reference of a row, measured in the same run: same direction and size, path `r.ref`. */
export const refOf = (rows: Row[], r: Row) => rows.find((x) => x.path === r.ref && x.direction === r.direction && x.size === r.size);

function rowsReport(rows: Row[], inputs: Record<string, unknown>): Report {
  const key = (r: Row) => `${r.path} ${r.direction} ${r.size} B`;
  const vs = (r: Row) => ratio(r.fps, refOf(rows, r)?.fps);
  return {
    bench: "datapath", inputs,
    medians: Object.fromEntries(rows.map((r) => [`${key(r)} kframes/s`, round2(r.fps / 1e3)])),
    ratios: Object.fromEntries(rows.filter((r) => refOf(rows, r)).map((r) => [`${key(r)} / ${r.ref}`, vs(r)])),
    tables: [{
      head: ["path", "direction", "frame B", "kframes/s", "Gbit/s", "loss %", "ratio", "vs"],
      rows: rows.map((r) => [r.path, r.direction, r.size, round2(r.fps / 1e3), round2(r.gbps), round2(Math.max(0, r.loss * 100)), vs(r), refOf(rows, r) ? r.ref! : ""]),
      note: "median of runs; ratio = frames/s relative to the row named in `vs` (same direction and size, same run);\n" +
        "\"1 of 4\": one client busy while 3 more are connected; \"4 at once\": per-client rate with all 4 busy",
    }],
    detail: rows,
  };
}

type SoakResult = { seconds: number; frames: number; samples: { t: number; rssKiB: number }[] };

function soakReport(r: SoakResult, inputs: Record<string, unknown>): Report {
  const first = r.samples[0]!, last = r.samples[r.samples.length - 1]!;
  const mib = (kib: number) => round2(kib / 1024);
  return {
    bench: "datapath-soak", inputs: { ...inputs, seconds: r.seconds, frameSize: 1500, direction: "vm→host" },
    medians: { "helper RSS MiB at start": mib(first.rssKiB), "helper RSS MiB at end": mib(last.rssKiB), "kframes/s": round2(r.frames / r.seconds / 1e3) },
    ratios: { "RSS end / start": ratio(last.rssKiB, first.rssKiB) },
    tables: [{
      title: `helper RSS over ${r.seconds} s at full rate (vm→host, 1500 B, ${(r.frames / r.seconds / 1e3).toFixed(1)} kframes/s)`,
      head: ["t s", "RSS MiB"], rows: r.samples.map((x) => [x.t, mib(x.rssKiB)]),
    }],
    detail: r,
  };
}

const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);

// ---------------------------------------------------------------- inside the host namespace

function socketpair(): [number, number] {
  const sv = new Int32Array(2);
  if (libc().socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) !== 0) throw new Error("socketpair failed");
  for (const fd of sv) {
    libc().setsockopt(fd, 1, 8 /* SO_RCVBUF */, new Int32Array([4 << 20]), 4);
    libc().setsockopt(fd, 1, 7 /* SO_SNDBUF */, new Int32Array([65 * 1024]), 4);
  }
  return [sv[0]!, sv[1]!];
}

const txPackets = () => Number(readFileSync("/sys/class/net/sk0/statistics/tx_packets", "utf8"));

/** A forwarder between a socketpair end and the bridge; `ipv4`: the address its frames must come from (its lease). */
/** stop() resolves once the path exited: the next run's helper takes the same --id. */
type Path = { name: string; start(vmFd: number): Promise<{ stop(): Promise<unknown>; mac: string; ipv4?: string }> };
/** A TAP the generator writes itself (no forwarder), with the MAC (and address) it sends from. */
type NativePath = { name: string; tap: string; mac: string; ipv4?: string };
/** The native TAP with vmlan's port rules (port-guard.ts) has a MAC of its own, so the bridge never mixes the two TAPs up. */
const GUARDED_MAC = "02:00:00:98:00:51";
const GUARDED_IP = "10.98.0.51";

async function inside(o: Opts): Promise<void> {
  const bin = mkdtempSync(join(tmpdir(), "vmlan-bench-c-"));
  sh(["gcc", "-O2", "-pthread", "-o", join(bin, "forwarder"), join(ROOT, "bench/c/forwarder.c")]);
  sh(["gcc", "-O2", "-o", join(bin, "traffic"), join(ROOT, "bench/c/traffic.c")]);
  sh(["gcc", "-O2", "-pthread", "-o", join(bin, "stream-forwarder"), join(ROOT, "bench/c/stream-forwarder.c")]);
  const traffic = join(bin, "traffic");
  sh(["ip", "link", "set", "lo", "up"]);
  sh([vmlanBin(), "network", "create", "bench", "--subnet", "10.98.0.0/24", "--mode", "host"]);
  sh(["ip", "link", "add", "sk0", "type", "veth", "peer", "name", "eth0", "netns", o.sink!]);
  sh(["ip", "link", "set", "sk0", "master", "vl-bench", "up"]);
  sh(["ip", "-n", o.sink!, "link", "set", "eth0", "up"]);
  const sinkMac = (JSON.parse(sh(["ip", "-n", o.sink!, "-j", "link", "show", "eth0"]))[0] as { address: string }).address;
  sh(["bridge", "fdb", "replace", sinkMac, "dev", "sk0", "master", "static"]); // no flooding toward the sink ("replace": the bridge may have learned it already)
  for (const tap of ["vbfwd", "vbnat", "vbsfwd", "vbgrd"]) {
    sh(["ip", "tuntap", "add", "dev", tap, "mode", "tap"]);
    sh(["ip", "link", "set", tap, "master", "vl-bench", "up"]);
  }
  // The rules every vmlan port gets (issue #12 item 2), on a TAP of the bench's own: their cost on the kernel path.
  guardPort("vl-bench", "vbgrd", { mac: GUARDED_MAC, lease: { mac: GUARDED_MAC, ipv4: GUARDED_IP, ipv6: [] } });
  // A helper gets its lease and TAP from the services daemon when it runs (src/cli/helper-service/); the others are asked to do it in process.
  const inProcess = { VMLAN_HELPER_IN_PROCESS: "1" };
  const helper = (name: string, extra: string[], env: Record<string, string> = inProcess): Path => ({ name, async start(fd) {
    const p = Bun.spawn(onPath([vmlanBin(), "helper", "--fd", "3", "--network", "bench", "--id", "bench", "--mac", VM_MAC, ...extra]), { stdio: ["ignore", "pipe", "inherit", fd], env: { ...process.env, ...env } });
    const line = JSON.parse(await firstLine(p)) as { vmnet_mac_address: string; vmlan_address: string };
    return { stop: () => (p.kill("SIGTERM"), p.exited), mac: line.vmnet_mac_address, ipv4: line.vmlan_address };
  } });
  const paths: Path[] = [
    helper("vmlan helper", []), // as every vmlan port is: the anti-spoofing rules on its TAP
    helper("vmlan helper, --allow-spoofing", ["--allow-spoofing"]),
    helper("vmlan helper, through the services daemon", [], {}),
    { name: "C forwarder", async start(fd) {
      const p = Bun.spawn(onPath([join(bin, "forwarder"), "--fd", "3", "--tap", "vbfwd"]), { stdio: ["ignore", "pipe", "inherit", fd] });
      await firstLine(p);
      return { stop: () => (p.kill("SIGTERM"), p.exited), mac: VM_MAC };
    } },
  ];
  if (o.soak > 0) {
    // One helper, a generator with no end, RSS sampled every 10 s after a 2 s warm-up.
    const [vmEnd, pathEnd] = socketpair();
    const h = Bun.spawn([vmlanBin(), "helper", "--fd", "3", "--network", "bench", "--id", "soak", "--mac", VM_MAC], { stdio: ["ignore", "pipe", "inherit", pathEnd] });
    const soakIp = (JSON.parse(await firstLine(h)) as { vmlan_address: string }).vmlan_address; // its port lets only that through
    const before = txPackets();
    const g = Bun.spawn([traffic, "gen", "--fd", "3", "--count", "1000000000", "--size", "1500", "--dst", sinkMac, "--src", VM_MAC, "--ipv4", soakIp], { stdio: ["ignore", "ignore", "inherit", vmEnd] });
    await Bun.sleep(2000);
    const samples: { t: number; rssKiB: number }[] = [];
    for (let t = 0; t <= o.soak; t += 10) {
      if (t > 0) await Bun.sleep(Math.min(10, o.soak - t + 10) * 1000);
      samples.push({ t, rssKiB: rssKiB(h.pid) });
    }
    const frames = txPackets() - before;
    g.kill("SIGKILL");
    h.kill("SIGTERM");
    await h.exited;
    rmSync(bin, { recursive: true, force: true });
    console.log(JSON.stringify({ seconds: o.soak + 2, frames, samples } satisfies SoakResult));
    return;
  }
  const daemon = Bun.spawn([vmlanBin(), "services", "run"], { stdio: ["ignore", "ignore", "ignore"] });
  for (let i = 0; i < 100 && !existsSync(join(process.env.VMLAN_STATE_DIR!, "helper.sock")); i++) await Bun.sleep(100);
  const rows: Row[] = [];
  const record = (path: string, direction: string, size: number, samples: Sample[]) =>
    rows.push(row(path, direction, size, samples, path === "C forwarder" ? {} : { ref: "C forwarder" }));
  const gen = (where: string[], size: number, dst: string, src: string, ipv4?: string) =>
    [traffic, "gen", ...where, "--count", String(o.count), "--size", String(size), "--dst", dst, "--src", src, ...(ipv4 ? ["--ipv4", ipv4] : [])];
  const natives: NativePath[] = [
    { name: "native TAP", tap: "vbnat", mac: VM_MAC },
    { name: "native TAP, guarded", tap: "vbgrd", mac: GUARDED_MAC, ipv4: GUARDED_IP },
  ];
  // BENCH_DATAPATH=dgram or =stream runs only that half (for work on one path; reports need both).
  const only = process.env.BENCH_DATAPATH;
  for (const size of only === "stream" ? [] : SIZES) {
    for (const item of [...paths, ...natives]) {
      const path = "start" in item ? item : null;
      const nat = "tap" in item ? item : null;
      const name = item.name;
      const up: Sample[] = [];
      const down: Sample[] = [];
      for (let run = 0; run < o.runs; run++) {
        // vm→host
        const [vmEnd, pathEnd] = socketpair();
        const fw = path ? await path.start(pathEnd) : null;
        const where = path ? ["--fd", "3"] : ["--tap", nat!.tap];
        const mac = fw?.mac ?? nat!.mac;
        const g = Bun.spawn(onTraffic(gen(where, size, sinkMac, mac, fw?.ipv4 ?? nat?.ipv4)), { stdio: ["ignore", "ignore", "inherit", vmEnd] });
        up.push(await countAtVeth([g], o.count));
        // host→vm
        const s = Bun.spawn(onTraffic([traffic, "sink", ...where]), { stdio: ["ignore", "pipe", "inherit", vmEnd] });
        const sinkLine = lineReader(s);
        await sinkLine();
        await Bun.spawn(onTraffic(["ip", "netns", "exec", o.sink!, ...gen(["--packet", "eth0"], size, mac, sinkMac)]), { stdio: ["ignore", "ignore", "inherit"] }).exited;
        down.push(parseTraffic(await sinkLine(), o.count));
        await fw?.stop();
        libc().close(vmEnd);
        libc().close(pathEnd);
        await Bun.sleep(300);
      }
      record(name, "vm→host", size, up);
      record(name, "host→vm", size, down);
    }
  }
  if (only !== "dgram") rows.push(...await streamRows({ runs: o.runs, count: o.count, sink: o.sink!, sinkMac, traffic, cForwarder: join(bin, "stream-forwarder"), dir: bin }));
  daemon.kill("SIGTERM");
  await daemon.exited;
  rmSync(bin, { recursive: true, force: true });
  console.log(JSON.stringify(rows));
}

if (import.meta.main) {
  const a = process.argv.slice(2);
  const get = (k: string) => { const i = a.indexOf(k); return i < 0 ? undefined : a[i + 1]; };
  const ns = get("--inside");
  // Belt and braces: everything below creates links, so refuse to run outside our own namespace.
  if (!ns || !ns.startsWith("vmlan-bench-") || statSync("/proc/self/ns/net").ino !== statSync(`/run/netns/${ns}`).ino) {
    throw new Error("refusing to run outside a vmlan-bench namespace; use `bun run bench datapath`");
  }
  await inside({ runs: Number(get("--runs") ?? 3), inside: ns, sink: get("--sink"), count: Number(get("--count") ?? 200_000), soak: Number(get("--soak") ?? 0) });
}
