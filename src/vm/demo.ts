/**
 * `vmlan demo`: two guests on the built-in default network reach each other, the host and (through
 * NAT) whatever the host reaches; measured round-trip times and TCP throughput, then cleanup.
 * Everything is driven through the guests' serial consoles (src/vm/console.ts).
 */
import { HostError, UsageError } from "../core/errors.ts";
import { GuestConsole } from "./console.ts";
import { finishVm, idle, startVm, stopHelpers, type StartedVm, type VmDeps } from "./launch.ts";
import { DEFAULT_CPUS, DEFAULT_MEMORY_MB } from "./spec.ts";
import { listenInGuest, pingAvg, sendFromGuest, sendToHost } from "./measure.ts";

export interface DemoResult {
  network: string;
  accel: string;
  attachment: string;
  guests: { name: string; address: string; mac: string; bootMs: number }[];
  pingGuestMs: number;
  pingGatewayMs: number;
  transferMb: number;
  guestToGuestMbps: number;
  guestToHostMbps: number;
}

/** The port the demo's receivers listen on (guest A's nc, the host's listener). */
const PORT = 5001;
/** TCG boots the guest in 3-5 s on 2 cores (measured); generous for a loaded CI machine. */
const BOOT_TIMEOUT_MS = 120_000;

type Guest = { vm: StartedVm; console: GuestConsole; bootMs: number };

export async function runDemo(d: VmDeps, opts: { network: string; mb: number; prefix?: string; attachment?: "native" | "helper" }): Promise<DemoResult> {
  const prefix = opts.prefix ?? "demo";
  const guests: Guest[] = [];
  // Ctrl-C: stop the guests; the waits below then fail and `finally` releases everything.
  const interrupt = () => guests.forEach((g) => stopProc(g.vm.proc));
  process.on("SIGINT", interrupt);
  process.on("SIGTERM", interrupt);
  try {
    d.log(`starting two guests on "${opts.network}"`);
    // Each guest joins `guests` as soon as QEMU runs, so a failed or interrupted boot is cleaned up too.
    const booted = await Promise.allSettled(["a", "b"].map((s) => bootGuest(`${prefix}-${s}`, opts.network, opts.attachment ?? "helper", d, guests)));
    const failed = booted.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
    guests.sort((x, y) => x.vm.record.name.localeCompare(y.vm.record.name));
    const [a, b] = guests as [Guest, Guest];
    const aAddr = known(a.vm.record.nics[0]!.address, opts.network);
    const gateway = known(a.vm.record.nics[0]!.gateway, opts.network);
    d.log(`${a.vm.record.name} ${aAddr} and ${b.vm.record.name} ${b.vm.record.nics[0]!.address} are up; measuring`);
    const pingGuestMs = await pingAvg(b.console, aAddr);
    const pingGatewayMs = await pingAvg(b.console, gateway);
    await listenInGuest(a.console, PORT);
    const guestToGuestMbps = await sendFromGuest(b.console, aAddr, PORT, opts.mb);
    const guestToHostMbps = await sendToHost(b.console, { listen: gateway, connect: gateway }, PORT, opts.mb);
    return {
      network: opts.network, accel: a.vm.record.accel, attachment: a.vm.record.attachment,
      guests: guests.map((g) => ({ name: g.vm.record.name, address: known(g.vm.record.nics[0]!.address, opts.network), mac: g.vm.record.nics[0]!.mac, bootMs: g.bootMs })),
      pingGuestMs, pingGatewayMs, transferMb: opts.mb, guestToGuestMbps, guestToHostMbps,
    };
  } finally {
    await Promise.all(guests.map((g) => stopGuest(g, d)));
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
  }
}

async function bootGuest(name: string, network: string, attachment: "native" | "helper", d: VmDeps, guests: Guest[]): Promise<void> {
  const t0 = performance.now();
  const vm = await startVm({ name, networks: [network], cpus: DEFAULT_CPUS, memoryMb: DEFAULT_MEMORY_MB, attachment }, d, { consolePipe: true });
  const g: Guest = { vm, console: new GuestConsole({ stdout: vm.proc.stdout!, stdin: vm.proc.stdin! }), bootMs: 0 };
  guests.push(g);
  // QEMU's own messages ("terminating on signal 15") stay off the demo's output unless the boot fails.
  const qemuErr = vm.proc.stderr ? new Response(vm.proc.stderr).text() : Promise.resolve("");
  try {
    await g.console.ready(BOOT_TIMEOUT_MS);
  } catch (e) {
    const err = await Promise.race([qemuErr, idle(500).then(() => "")]);
    throw new HostError(`${name} did not boot: ${(e as Error).message}${err.trim() ? `; qemu: ${err.trim()}` : ""}`);
  }
  g.bootMs = Math.round(performance.now() - t0);
}

/** SIGTERM to QEMU; an in-process VM (Virtualization.framework) is stopped at once through its handle. */
function stopProc(proc: StartedVm["proc"]): void {
  if (proc.stop) return proc.stop(true);
  try {
    process.kill(proc.pid, "SIGTERM");
  } catch {}
}

async function stopGuest(g: Guest, d: VmDeps): Promise<void> {
  stopProc(g.vm.proc);
  await g.vm.proc.exited;
  await stopHelpers(g.vm);
  finishVm(g.vm.record, d);
}

/** The demo measures against addresses vmlan assigned; a bridged network's come from the LAN. */
function known(address: string | null, network: string): string {
  if (address === null) throw new UsageError(`the demo needs addresses vmlan assigns; network "${network}" is bridged (its guests take theirs from the LAN)`);
  return address;
}
