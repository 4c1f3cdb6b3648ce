/**
 * `bun run bench guests`: TCP throughput of real QEMU guests (TCG) through vmlan's two attachments,
 * native (a TAP fd to QEMU) and helper (`vmlan helper` on a socketpair, -netdev dgram), against
 * QEMU's own user-mode network (`-netdev user`, slirp) as the baseline, and passt (Debian's
 * package; QEMU `-netdev stream` to its unix socket) when it is installed or installs.
 *
 * Needs root. Builds the guest image from the root namespace (downloads only; a fresh namespace
 * has no way to the package mirror), then creates a namespace `vmlan-bench-<random>` and re-runs
 * this file inside it, so the networks, TAPs, QEMUs and listeners all live there; the namespace
 * and the temp state dir are removed at the end. BENCH_MB sets the MiB per transfer (default 16). Under TCG the guest CPU, not the datapath, is the
 * bottleneck, so expect ratios near 1; with KVM the datapath shows.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GuestConsole } from "../src/vm/console.ts";
import { GUEST_KERNEL_WORDS } from "../src/vm/spec.ts";
import { listenInGuest, pingAvg, sendFromGuest, sendToHost } from "../src/vm/measure.ts";
import { vmlanBin } from "../test/support/binary.ts";
import { loadAverage, ratio, round2, type Report } from "./bench-report.ts";

export type GuestRow = { attachment: string; guestToGuestMbps: number | null; guestToHostMbps: number; pingMs: number | null };

export const IMAGE_CACHE = join(import.meta.dir, "..", ".cache", "vmlan-images");
const PORT = 5001;
const SUBNET = "10.79.0";

type Vm = { console: GuestConsole; proc: ReturnType<typeof Bun.spawn>; address: string };

function vmlanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return env;
}

async function bootConsole(argv: string[], parseInfo: boolean): Promise<Vm> {
  const proc = Bun.spawn(argv, { env: vmlanEnv(), stdin: "pipe", stdout: "pipe", stderr: "ignore" });
  const console = new GuestConsole({ stdout: proc.stdout as ReadableStream<Uint8Array>, stdin: proc.stdin as import("bun").FileSink });
  let address = "";
  if (parseInfo) address = (JSON.parse((await console.waitFor(/^(\{.*\})$/, 60_000)).match[1]!) as { nics: { address: string }[] }).nics[0]!.address;
  const addrs = await console.ready(120_000);
  return { console, proc, address: address || addrs[0]! };
}

async function stop(vm: Vm): Promise<void> {
  vm.proc.kill("SIGTERM");
  await vm.proc.exited;
}

async function vmlan(...args: string[]): Promise<string> {
  const p = Bun.spawn([vmlanBin(), ...args], { env: vmlanEnv(), stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`vmlan ${args.join(" ")} exited ${code}: ${err.trim()}`);
  return out;
}

/** Two guests on a host-only network with the given attachment: guest→guest and guest→host. */
async function throughVmlan(attachment: "native" | "helper", mb: number): Promise<GuestRow> {
  const run = (name: string) => bootConsole([vmlanBin(), "vm", "run", "--network", "bench", "--name", name, "--console", "-", "--format", "json", ...(attachment === "native" ? ["--native"] : [])], true);
  const [a, b] = await Promise.all([run(`bench-${attachment}-a`), run(`bench-${attachment}-b`)]);
  try {
    const pingMs = await pingAvg(b.console, a.address);
    await listenInGuest(a.console, PORT);
    const guestToGuestMbps = await sendFromGuest(b.console, a.address, PORT, mb);
    const guestToHostMbps = await sendToHost(b.console, { listen: `${SUBNET}.1`, connect: `${SUBNET}.1` }, PORT, mb);
    return { attachment, guestToGuestMbps, guestToHostMbps, pingMs };
  } finally {
    await Promise.all([stop(a), stop(b)]);
  }
}

/** QEMU's slirp: the guest dials 10.0.2.2, which slirp turns into a connection to this namespace's 127.0.0.1. */
async function throughSlirp(mb: number): Promise<GuestRow> {
  const img = JSON.parse(await vmlan("vm", "image", "build", "--format", "json")) as { kernel: string; initrd: string };
  const mac = "52:54:00:12:34:56";
  const append = `${GUEST_KERNEL_WORDS.join(" ")} vmlan.hostname=slirp vmlan.net=${mac},10.0.2.15/24,10.0.2.2`;
  const vm = await bootConsole(["qemu-system-x86_64", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-accel", "tcg", "-m", "256",
    "-kernel", img.kernel, "-initrd", img.initrd, "-append", append, "-chardev", "stdio,id=con0,signal=off", "-serial", "chardev:con0",
    "-netdev", "user,id=n0", "-device", `virtio-net-pci,netdev=n0,mac=${mac},romfile=`], false);
  try {
    const guestToHostMbps = await sendToHost(vm.console, { listen: "127.0.0.1", connect: "10.0.2.2" }, PORT, mb);
    return { attachment: "qemu -netdev user", guestToGuestMbps: null, guestToHostMbps, pingMs: null };
  } finally {
    await stop(vm);
  }
}

/**
 * passt (user-mode like slirp, but a separate process that QEMU reaches over a unix stream socket).
 * passt copies the address of the namespace's default-route interface to the guest and maps the
 * gateway address to the namespace's own loopback, so the guest dials the gateway to reach 127.0.0.1.
 */
async function throughPasst(mb: number, dir: string): Promise<GuestRow | null> {
  if (!Bun.which("passt")) return null;
  const sh = (...argv: string[]) => Bun.spawnSync(argv, { stdio: ["ignore", "ignore", "inherit"] }).exitCode;
  // An "uplink" for passt to copy: a veth with an address and a default route, inside this namespace only.
  sh("ip", "link", "add", "up0", "type", "veth", "peer", "name", "up1");
  sh("ip", "addr", "add", "10.199.0.1/24", "dev", "up0");
  sh("ip", "link", "set", "up0", "up");
  sh("ip", "link", "set", "up1", "up");
  sh("ip", "route", "add", "default", "via", "10.199.0.2");
  const sock = join(dir, "passt.sock");
  const passt = Bun.spawn(["passt", "-f", "-q", "-s", sock, "--runas", "0"], { stdio: ["ignore", "ignore", "ignore"] });
  try {
    for (let i = 0; i < 50 && !(await Bun.file(sock).exists()); i++) await Bun.sleep(100);
    const img = JSON.parse(await vmlan("vm", "image", "build", "--format", "json")) as { kernel: string; initrd: string };
    const mac = "52:54:00:12:34:57";
    const append = `${GUEST_KERNEL_WORDS.join(" ")} vmlan.hostname=passt vmlan.net=${mac},10.199.0.1/24,10.199.0.2`;
    const vm = await bootConsole(["qemu-system-x86_64", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-accel", "tcg", "-m", "256",
      "-kernel", img.kernel, "-initrd", img.initrd, "-append", append, "-chardev", "stdio,id=con0,signal=off", "-serial", "chardev:con0",
      "-netdev", `stream,id=n0,server=off,addr.type=unix,addr.path=${sock}`, "-device", `virtio-net-pci,netdev=n0,mac=${mac},romfile=`], false);
    try {
      const guestToHostMbps = await sendToHost(vm.console, { listen: "127.0.0.1", connect: "10.199.0.2" }, PORT, mb);
      return { attachment: "passt", guestToGuestMbps: null, guestToHostMbps, pingMs: null };
    } finally {
      await stop(vm);
    }
  } finally {
    passt.kill("SIGTERM");
    await passt.exited;
    sh("ip", "link", "del", "up0");
  }
}

export async function guestsBench(mb: number): Promise<GuestRow[]> {
  await vmlan("network", "create", "bench", "--subnet", `${SUBNET}.0/24`, "--mode", "host");
  try {
    const rows: GuestRow[] = [];
    for (const mode of ["native", "helper"] as const) {
      console.error(`bench: guests through ${mode} attachment (${mb} MiB per transfer)`);
      rows.push(await throughVmlan(mode, mb));
    }
    console.error("bench: guest through qemu -netdev user (baseline)");
    rows.push(await throughSlirp(mb));
    console.error("bench: guest through passt");
    const passt = await throughPasst(mb, mkdtempSync(join(tmpdir(), "vmlan-bench-passt-")));
    if (passt) rows.push(passt);
    else console.error("bench: passt is not installed (apt-get install passt); row left out");
    return rows;
  } finally {
    await vmlan("network", "rm", "bench", "--force").catch(() => "");
  }
}

/** Entry from scripts/bench.ts: set up, run inside the namespace, report. */
export async function guests(_o: { json: boolean }): Promise<Report> {
  if (process.getuid?.() !== 0) throw new Error("guests needs root: it creates a network namespace");
  const mb = Number(process.env.BENCH_MB ?? 16);
  const stateDir = mkdtempSync(join(tmpdir(), "vmlan-bench-"));
  const env = { ...vmlanEnv(), VMLAN_STATE_DIR: stateDir, VMLAN_IMAGE_CACHE: IMAGE_CACHE };
  const ns = `vmlan-bench-${crypto.randomUUID().slice(0, 8)}`;
  const ip = (...args: string[]) => Bun.spawnSync(["ip", ...args], { stdio: ["ignore", "inherit", "inherit"] }).exitCode;
  try {
    if (!Bun.which("passt") && Bun.which("apt-get")) {
      // "passt from Debian if it installs": try once, quietly; the bench runs without it otherwise.
      Bun.spawnSync(["apt-get", "install", "-y", "-q", "--no-install-recommends", "passt"], { stdio: ["ignore", "ignore", "ignore"], env: { ...env, DEBIAN_FRONTEND: "noninteractive" } });
    }
    const img = Bun.spawnSync([vmlanBin(), "vm", "image", "build"], { env, stdio: ["ignore", "ignore", "inherit"] });
    if (img.exitCode !== 0) throw new Error("vmlan vm image build failed");
    if (ip("netns", "add", ns) !== 0) throw new Error(`ip netns add ${ns} failed`);
    ip("-n", ns, "link", "set", "lo", "up");
    const child = Bun.spawn(["ip", "netns", "exec", ns, process.execPath, import.meta.path, "--inside", ns, String(mb)], { env, stdin: "ignore", stdout: "pipe", stderr: "inherit" });
    const [code, out] = await Promise.all([child.exited, new Response(child.stdout).text()]);
    if (code !== 0) throw new Error(`bench inside ${ns} exited ${code}`);
    return guestReport(JSON.parse(out) as GuestRow[], { mb, loadavg: await loadAverage(), binary: vmlanBin() });
  } finally {
    ip("netns", "del", ns);
    rmSync(stateDir, { recursive: true, force: true });
  }
}

export function guestReport(rows: GuestRow[], inputs: Record<string, unknown>): Report {
  const base = rows.find((r) => r.attachment.startsWith("qemu"))?.guestToHostMbps ?? null;
  const medians: Report["medians"] = {};
  for (const r of rows) {
    medians[`${r.attachment} guest->host Mbit/s`] = round2(r.guestToHostMbps);
    if (r.guestToGuestMbps !== null) medians[`${r.attachment} guest->guest Mbit/s`] = round2(r.guestToGuestMbps);
    if (r.pingMs !== null) medians[`${r.attachment} ping ms`] = r.pingMs;
  }
  return {
    bench: "guests", inputs, medians,
    ratios: Object.fromEntries(rows.filter((r) => !r.attachment.startsWith("qemu")).map((r) => [`${r.attachment} guest->host / qemu -netdev user`, ratio(r.guestToHostMbps, base)])),
    tables: [{
      head: ["attachment", "guest->guest Mbit/s", "guest->host Mbit/s", "vs user-mode", "ping ms"],
      rows: rows.map((r) => [r.attachment, r.guestToGuestMbps === null ? null : round2(r.guestToGuestMbps), round2(r.guestToHostMbps), ratio(r.guestToHostMbps, base), r.pingMs]),
      note: "one transfer each way under TCG (BENCH_MB MiB); vs user-mode = guest->host relative to QEMU's -netdev user",
    }],
    detail: rows,
  };
}

if (import.meta.main) {
  const [flag, ns, mb] = process.argv.slice(2);
  // Belt and braces: everything here creates bridges and TAPs, so only inside our own namespace.
  if (flag !== "--inside" || !ns || statSync("/proc/self/ns/net").ino !== statSync(`/run/netns/${ns}`).ino) {
    console.error("bench-guests.ts runs only inside its namespace; use `bun run bench guests`");
    process.exit(2);
  }
  console.log(JSON.stringify(await guestsBench(Number(mb))));
}
