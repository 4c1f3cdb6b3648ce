/**
 * `vmlan run`: start one helper per network on a socketpair (or, with --native, one TAP per network),
 * then the VM command with the VM ends as fds 3, 4, ...; stop both when either exits (SIGTERM, SIGKILL
 * after GRACE_MS) and return the command's status. Like vmnet-helper's vmnet-run.
 */
import { constants } from "node:os";
import { libc } from "../../ffi/libc/load.ts";
import { HostError } from "../core/errors.ts";
import { vmSocketpair } from "./vm-socket.ts";
import { supervisedEnv } from "./supervised.ts";
import type { StartLine } from "./start-line.ts";
import type { HelperLease, HostPort } from "./helper.ts";
import { commandEnv, substitute, type Attached } from "./placeholders.ts";
import { childCommand } from "../process/child-command.ts";

/** Grace between SIGTERM and SIGKILL when stopping the other side. */
export const GRACE_MS = 5000;
/** How long a helper may take to print its JSON line (attach + TAP + two Workers take well under 1 s). */
const READY_TIMEOUT_MS = 30_000;
/** The first fd the VM command gets (0-2 are stdio). */
export const FIRST_FD = 3;

type Proc = ReturnType<typeof Bun.spawn>;

export interface RunOptions {
  networks: string[];
  id: string;
  keep: boolean;
  command: string[];
  /** command[0] resolved to an executable path (checked before anything was allocated). */
  program: string;
  /** How to start this vmlan again: [binary] when compiled, [bun, main.ts] from source. */
  self: string[];
  /** Extra helper flags, e.g. ["--broker"] to join networks through the broker. */
  helperArgs?: string[];
  /** Run once every network is attached, before COMMAND starts (run -p publishes its ports here); may throw. */
  attached?: () => Promise<void>;
  /** Run after the helpers stopped and the leases were released (the published ports stop). */
  ended?: () => Promise<void>;
}

export interface NativeDeps {
  attach(network: string): HelperLease;
  release(lease: HelperLease): void;
  /** A port for `lease` (guarded for it on Linux). */
  openTap(network: string, lease: HelperLease): HostPort;
}

/** argv prefix that re-runs this vmlan: the compiled binary is process.execPath; from source it is bun + main.ts. */
export function selfArgv(): string[] {
  return Bun.main.startsWith("/$bunfs/") || Bun.main.startsWith("B:/~BUN/") ? [process.execPath] : [process.execPath, Bun.main];
}

export function statusOf(p: Proc): number {
  if (p.exitCode !== null) return p.exitCode;
  const sig = p.signalCode ? (constants.signals as Record<string, number>)[p.signalCode] ?? 0 : 0;
  return 128 + sig;
}

/** SIGTERM, then SIGKILL if still running after GRACE_MS. */
export async function terminate(p: Proc): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  p.kill("SIGTERM");
  const grace = unrefTimer(GRACE_MS);
  const killed = await Promise.race([p.exited.then(() => false), grace.done.then(() => true)]);
  grace.cancel();
  if (killed) {
    p.kill("SIGKILL");
    await p.exited;
  }
}

async function readStartLine(p: Proc, network: string): Promise<StartLine> {
  const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
  const dec = new TextDecoder();
  let text = "";
  const timer = unrefTimer(READY_TIMEOUT_MS);
  const timeout = timer.done.then(() => null);
  while (!text.includes("\n")) {
    const r = await Promise.race([reader.read(), timeout]);
    if (!r) throw new HostError(`helper for network "${network}" printed no start line within ${READY_TIMEOUT_MS / 1000} s`);
    if (r.done) throw new HostError(`helper for network "${network}" exited (status ${await p.exited}) before it was ready`);
    text += dec.decode(r.value, { stream: true });
  }
  timer.cancel();
  reader.releaseLock();
  return JSON.parse(text.slice(0, text.indexOf("\n"))) as StartLine;
}

/** A timeout that neither keeps the process alive (a lost race's Bun.sleep did, for its full length) nor outlives cancel(). */
function unrefTimer(ms: number): { done: Promise<void>; cancel(): void } {
  let handle: ReturnType<typeof setTimeout> | undefined;
  const done = new Promise<void>((resolve) => {
    handle = setTimeout(resolve, ms);
    handle.unref?.();
  });
  return { done, cancel: () => clearTimeout(handle) };
}


/** Runs the command until it or a helper exits; returns the command's status. */
export async function supervise(o: RunOptions, native: NativeDeps | null): Promise<number> {
  const helpers: Proc[] = [];
  const leases: HelperLease[] = [];
  const parentFds: number[] = [];
  const closeParentFds = () => { for (const fd of parentFds.splice(0)) libc().close(fd); };
  let cmd: Proc | undefined;
  let signalled = false;
  const onSignal = () => {
    signalled = true;
    if (cmd) cmd.kill("SIGTERM");
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    const attached: Attached[] = [];
    const childFds: number[] = [];
    for (const [i, network] of o.networks.entries()) {
      if (native) {
        const lease = native.attach(network);
        leases.push(lease);
        const tap = native.openTap(network, lease);
        parentFds.push(tap.fd);
        childFds.push(tap.fd);
        attached.push({ ...lease, fd: FIRST_FD + i, tap: tap.ifname });
        continue;
      }
      const [vmEnd, helperEnd] = vmSocketpair();
      parentFds.push(vmEnd, helperEnd);
      childFds.push(vmEnd);
      const argv = [...o.self, "helper", "--fd", "3", "--network", network, "--id", o.id, ...(o.keep ? ["--keep"] : []), ...(o.helperArgs ?? [])];
      // Own session: a terminal's Ctrl-C reaches vmlan run and the command; helpers stop after the command.
      const h = Bun.spawn(argv, { stdio: ["ignore", "pipe", "inherit", helperEnd], detached: true, env: supervisedEnv() });
      helpers.push(h);
      const line = await readStartLine(h, network);
      attached.push({
        network, id: line.vmnet_interface_id, mac: line.vmnet_mac_address, address: line.vmlan_address ?? null, gateway: line.vmlan_gateway ?? null,
        prefixLength: line.vmlan_prefix_length ?? null, hostname: line.vmlan_hostname, mtu: line.vmnet_mtu, fd: FIRST_FD + i, tap: line.vmlan_tap,
      });
    }
    if (signalled) return 130;
    await o.attached?.();
    const argv = substitute(o.command, attached);
    // The resolved program runs (argv[0] stays what the user wrote), through `vmlan _child` so that
    // it dies with this process even when this process is SIGKILLed (issue #12 item 11). From the
    // main thread: the kernel's parent-death signal follows the thread that forked.
    const child = childCommand(o.self, o.program, argv, FIRST_FD + childFds.length);
    cmd = Bun.spawn(child.argv, { stdio: ["inherit", "inherit", "inherit", ...childFds, ...child.extraFds], env: { ...process.env, ...commandEnv(attached) } });
    child.spawned();
    closeParentFds(); // the children hold their ends; a TAP now lives exactly as long as the command
    const first = await Promise.race([cmd.exited.then(() => "command" as const), ...helpers.map((h) => h.exited.then(() => "helper" as const))]);
    if (first === "helper") {
      process.stderr.write("vmlan run: a helper exited; stopping the command\n");
      await terminate(cmd);
    }
    return statusOf(cmd);
  } finally {
    if (cmd) await terminate(cmd);
    await Promise.all(helpers.map(terminate));
    closeParentFds();
    if (native && !o.keep) for (const l of leases) native.release(l);
    await o.ended?.().catch((e) => process.stderr.write(`vmlan run: ${(e as Error).message}\n`));
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}
