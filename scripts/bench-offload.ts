/**
 * `bun run bench offload`: one TCP stream (iperf3, from Debian) between a "VM" namespace and a sink
 * namespace, each way, through each path in the same run:
 *
 *   VM ns: iperf3 ── vm0 (vnet-header TAP) ── bench/c/vnet-vm.c ══ datagram socketpair ══ [path] ── TAP ── bridge vl-ob ── veth ══ sink ns: iperf3 -s
 *
 * vnet-vm plays krunkit: with offloading=on (`--offload`) 64 KiB TSO segments with partial checksums
 * go out and whole frames with an all-zero virtio-net header come in; without it, plain frames
 * within the MTU. Paths:
 *   - veth: the VM and sink namespaces joined by a veth pair (the kernel path, the ceiling);
 *   - C reference (offload): bench/c/offload-forwarder.c, the same offload rules in C (offload.h);
 *   - vmlan helper (offload): `vmlan helper --fd 3 --enable-tso --enable-checksum-offload`;
 *   - vmlan helper (no offload): `vmlan helper --fd 3`, the VM without offloads.
 * Reported per direction: Gbit/s (iperf3's receiver), CPU seconds per GB moved by the path process
 * (the forwarder: helper or C) and by the whole machine (/proc/stat), the ratio to veth, and the
 * targets: helper (offload) ≥ 0.9× the C reference, ≥ 3.5× the helper without offload.
 * BENCH_SECONDS (default 5) per stream, median of --runs (at most 3), runs interleaved across paths.
 * Needs root, gcc and iperf3 (installed with apt-get when missing). Namespaces vmlan-bench-<id>-*
 * and the state dir are removed at the end.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { vmlanBin } from "../test/support/binary.ts";
import { libc } from "../ffi/libc/load.ts";
import { vmSocketpair } from "../src/datapath/vm-socket.ts";
import { lineReader, median, sh } from "./bench-dp-common.ts";
import { offloadReport, type OffloadRow } from "./bench-offload-report.ts";
import { loadAverage, type Report } from "./bench-report.ts";

const ROOT = join(import.meta.dir, "..");
const SUBNET = "10.77.0";
const SINK_IP = `${SUBNET}.251`;
const C_VM_IP = `${SUBNET}.250`;
const VETH_VM_IP = "10.78.0.2", VETH_SINK_IP = "10.78.0.1";
const PORT = 5201;

type Proc = ReturnType<typeof Bun.spawn>;
type Ns = { host: string; vm: string; sink: string };
type Started = { pid?: number; vmIp: string; stop(): Promise<void> };
type Path = { name: string; start(ns: Ns, bin: string): Promise<Started> };
type Sample = { gbps: number; bytes: number; pathCpu: number; machineCpu: number };

const inNs = (ns: string, argv: string[]) => ["ip", "netns", "exec", ns, ...argv];
const spawnIn = (ns: string, argv: string[], fds: number[] = []) =>
  Bun.spawn(inNs(ns, argv), { stdio: ["ignore", "pipe", "inherit", ...fds], env: { ...process.env } });
const TICK = 100; // USER_HZ: /proc/<pid>/stat and /proc/stat count in 1/100 s
const procCpu = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / TICK; // utime, stime (fields 14, 15; the whole thread group)
};
const machineCpu = () => {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (f.reduce((a, b) => a + b, 0) - f[3]! - f[4]!) / TICK; // all but idle and iowait
};

async function stopProc(p: Proc): Promise<void> {
  if (p.exitCode === null) p.kill("SIGTERM");
  const t = setTimeout(() => p.kill("SIGKILL"), 5000);
  await p.exited;
  clearTimeout(t);
}

/** The "VM": vnet-vm on a new vm0 in the VM namespace, addressed, joined to `vmEnd`. */
async function startVm(ns: Ns, bin: string, vmEnd: number, offload: boolean, ip: string, mac?: string): Promise<Proc> {
  const vm = spawnIn(ns.vm, [join(bin, "vnet-vm"), "--fd", "3", "--tap", "vm0", ...(offload ? ["--offload"] : [])], [vmEnd]);
  await lineReader(vm)();
  sh(inNs(ns.vm, ["ip", "link", "set", "vm0", ...(mac ? ["address", mac] : []), "mtu", "1500", "up"]));
  sh(inNs(ns.vm, ["ip", "addr", "add", `${ip}/24`, "dev", "vm0"]));
  return vm;
}

function helperPath(offload: boolean): Path {
  return {
    name: offload ? "vmlan helper (offload)" : "vmlan helper (no offload)",
    async start(ns, bin) {
      const [vmEnd, helperEnd] = vmSocketpair(offload); // as vmnet-run sizes them
      const flags = offload ? ["--enable-tso", "--enable-checksum-offload"] : [];
      const h = spawnIn(ns.host, [vmlanBin(), "helper", "--fd", "3", "--network", "ob", "--id", `bench-${offload}`, ...flags], [helperEnd]);
      const line = JSON.parse(await lineReader(h)()) as { vmnet_mac_address: string; vmlan_address: string };
      const vm = await startVm(ns, bin, vmEnd, offload, line.vmlan_address, line.vmnet_mac_address);
      for (const fd of [vmEnd, helperEnd]) libc().close(fd);
      return { pid: h.pid, vmIp: line.vmlan_address, stop: async () => { await stopProc(h); await stopProc(vm); } };
    },
  };
}

const cReference: Path = {
  name: "C reference (offload)",
  async start(ns, bin) {
    const [vmEnd, fwEnd] = vmSocketpair(true);
    const fw = spawnIn(ns.host, [join(bin, "offload-forwarder"), "--fd", "3", "--tap", "obref", "--mtu", "1500"], [fwEnd]);
    await lineReader(fw)();
    sh(inNs(ns.host, ["ip", "link", "set", "obref", "master", "vl-ob", "up"]));
    const vm = await startVm(ns, bin, vmEnd, true, C_VM_IP);
    for (const fd of [vmEnd, fwEnd]) libc().close(fd);
    return { pid: fw.pid, vmIp: C_VM_IP, stop: async () => { await stopProc(fw); await stopProc(vm); } };
  },
};

const veth: Path = {
  name: "veth (kernel)",
  async start() {
    return { vmIp: VETH_VM_IP, stop: async () => {} };
  },
};

/** One iperf3 stream from the VM namespace (`reverse`: toward the VM), with the CPU it cost. */
async function measure(ns: Ns, s: Started, sinkIp: string, seconds: number, reverse: boolean): Promise<Sample> {
  const [p0, m0] = [s.pid ? procCpu(s.pid) : 0, machineCpu()];
  const c = spawnIn(ns.vm, ["iperf3", "-c", sinkIp, "-p", String(PORT), "-t", String(seconds), "-O", "1", "-J", ...(reverse ? ["-R"] : [])]);
  const [code, out] = await Promise.all([c.exited, new Response(c.stdout as ReadableStream).text()]);
  const [p1, m1] = [s.pid ? procCpu(s.pid) : 0, machineCpu()];
  if (code !== 0) throw new Error(`iperf3 -c ${sinkIp}${reverse ? " -R" : ""} exited ${code}: ${out.slice(0, 400)}`);
  const r = (JSON.parse(out) as { end: { sum_received: { bytes: number; bits_per_second: number; seconds: number } } }).end.sum_received;
  // The CPU window includes the omitted first second; scale the bytes to it.
  const bytes = (r.bytes * (seconds + 1)) / seconds;
  return { gbps: r.bits_per_second / 1e9, bytes: r.bytes, pathCpu: ((p1 - p0) / bytes) * 1e9, machineCpu: ((m1 - m0) / bytes) * 1e9 };
}

function setup(ns: Ns, bin: string, state: string): void {
  for (const n of [ns.host, ns.vm, ns.sink]) {
    sh(["ip", "netns", "add", n]);
    sh(inNs(n, ["ip", "link", "set", "lo", "up"]));
  }
  const env = { ...process.env, VMLAN_STATE_DIR: state };
  const r = Bun.spawnSync(inNs(ns.host, [vmlanBin(), "network", "create", "ob", "--subnet", `${SUBNET}.0/24`, "--mode", "host", "--mtu", "1500"]), { env, stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`network create: ${r.stderr}`);
  sh(inNs(ns.host, ["ip", "link", "add", "sk0", "type", "veth", "peer", "name", "eth0", "netns", ns.sink]));
  sh(inNs(ns.host, ["ip", "link", "set", "sk0", "master", "vl-ob", "up"]));
  sh(inNs(ns.sink, ["ip", "addr", "add", `${SINK_IP}/24`, "dev", "eth0"]));
  sh(inNs(ns.sink, ["ip", "link", "set", "eth0", "up"]));
  sh(inNs(ns.vm, ["ip", "link", "add", "ve0", "type", "veth", "peer", "name", "ve1", "netns", ns.sink]));
  sh(inNs(ns.vm, ["ip", "addr", "add", `${VETH_VM_IP}/24`, "dev", "ve0"]));
  sh(inNs(ns.vm, ["ip", "link", "set", "ve0", "up"]));
  sh(inNs(ns.sink, ["ip", "addr", "add", `${VETH_SINK_IP}/24`, "dev", "ve1"]));
  sh(inNs(ns.sink, ["ip", "link", "set", "ve1", "up"]));
  for (const c of ["vnet-vm", "offload-forwarder"]) sh(["gcc", "-O2", "-pthread", "-o", join(bin, c), join(ROOT, "bench", "c", `${c}.c`)]);
}

function ensureIperf3(): void {
  if (Bun.which("iperf3")) return;
  if (Bun.which("apt-get")) {
    console.error("bench: installing iperf3 from Debian (apt-get install iperf3)");
    Bun.spawnSync(["apt-get", "install", "-y", "-q", "--no-install-recommends", "iperf3"], { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  }
  if (!Bun.which("iperf3")) throw new Error("offload needs iperf3 (apt-get install iperf3)");
}

export async function offload(o: { runs: number }): Promise<Report> {
  if (process.getuid?.() !== 0) throw new Error("offload needs root: it creates network namespaces");
  vmlanBin();
  if (!Bun.which("gcc")) throw new Error("offload needs gcc for bench/c");
  ensureIperf3();
  const id = crypto.randomUUID().slice(0, 8);
  const ns: Ns = { host: `vmlan-bench-${id}-h`, vm: `vmlan-bench-${id}-v`, sink: `vmlan-bench-${id}-s` };
  const state = mkdtempSync(join(tmpdir(), "vmlan-bench-off-"));
  const bin = join(state, "bin");
  sh(["mkdir", "-p", bin]);
  const procs: Proc[] = [];
  const cleanup = () => {
    for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
    for (const n of Object.values(ns)) Bun.spawnSync(["ip", "netns", "del", n], { stderr: "ignore" });
    rmSync(state, { recursive: true, force: true });
  };
  process.once("SIGINT", () => { cleanup(); process.exit(130); });
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const runs = Math.min(o.runs, 3);
  try {
    setup(ns, bin, state);
    process.env.VMLAN_STATE_DIR = state;
    const server = spawnIn(ns.sink, ["iperf3", "-s", "-p", String(PORT)]);
    procs.push(server);
    await Bun.sleep(500);
    const paths = [veth, cReference, helperPath(true), helperPath(false)];
    const samples = new Map<string, Sample[]>();
    for (let run = 0; run < runs; run++) {
      for (const p of paths) {
        const s = await p.start(ns, bin);
        const sinkIp = p === veth ? VETH_SINK_IP : SINK_IP;
        for (const reverse of [false, true]) {
          const key = `${p.name}|${reverse ? "host→vm" : "vm→host"}`;
          const x = await measure(ns, s, sinkIp, seconds, reverse);
          console.error(`bench: ${p.name} ${reverse ? "host→vm" : "vm→host"} run ${run + 1}: ${x.gbps.toFixed(2)} Gbit/s`);
          samples.set(key, [...(samples.get(key) ?? []), x]);
        }
        await s.stop();
        sh(inNs(ns.sink, ["ip", "neigh", "flush", "dev", "eth0"])); // the next path's VM has another MAC
      }
    }
    const rows: OffloadRow[] = [...samples].map(([key, xs]) => {
      const [path, direction] = key.split("|") as [string, string];
      return {
        path, direction, runs: xs.length, gbps: median(xs.map((x) => x.gbps)), perRun: xs.map((x) => x.gbps),
        pathCpuPerGB: median(xs.map((x) => x.pathCpu)), machineCpuPerGB: median(xs.map((x) => x.machineCpu)),
      };
    });
    return offloadReport(rows, { seconds, runs, mtu: 1500, loadAverage: await loadAverage() });
  } finally {
    cleanup();
  }
}
