/**
 * The per-VM helper (`vmlan helper`), step by step like vmnet-helper's main(): attach (IPAM), open
 * the host port (a TAP on the network's bridge; on macOS a vmnet interface), open the VM port (--fd
 * or --socket), print the JSON start line, forward (a TAP on this thread, forward-inline.ts; a vmnet
 * interface in Workers), wait for a signal or for the VM to go away, then undo every step in reverse.
 * Each step registers the undo of what it created. Platform and store come in as functions from the
 * command (the composition root), so this file knows neither.
 */
import { startLine, maxPacketSize, type StartLine } from "./start-line.ts";
import { BATCH_SIZE, TSO_BATCH_SIZE } from "./sizes.ts";
import type { OffloadMode } from "./offload/steps.ts";
import type { VmnetDesc } from "./forward-worker.ts";
import type { Forwarding, ForwardingOptions } from "./workers.ts";
import { bindVmSocket, connectFirstPeer, growSendBuffer } from "./vm-socket.ts";
import { checkVmFd } from "./vm-fd.ts";
import { FrameFdPort } from "./frame-fd.ts";
import { statsLine } from "./stats.ts";
import { SUPERVISED_ENV } from "./supervised.ts";
import { writeOut } from "../process/write-line.ts";
import { dropCleanCodePages } from "./code-pages.ts";

export interface HelperLease {
  id: string;
  network: string;
  mac: string;
  /** null on a bridged network: the LAN's DHCP server gives the VM its address. */
  address: string | null;
  prefixLength: number | null;
  gateway: string | null;
  hostname: string;
  mtu: number;
  /** For the start line: the network's last handed-out address and IPv6 prefix (start-line.ts). */
  rangeEnd?: string;
  ipv6Prefix?: string | null;
  ipv6PrefixLength?: number | null;
  /** The lease's IPv6 address (EUI-64 of the MAC), if the network has a prefix. */
  addressV6?: string | null;
  /** The attachment opted out of the port's anti-spoofing rules. */
  allowSpoofing?: boolean;
}
export interface HostPort {
  /** The TAP (or the broker's datagram fd); for a vmnet port, its event pipe. */
  readonly fd: number;
  readonly ifname: string;
  /** A vmnet interface (macOS) instead of a frame fd: the numbers the forwarding Worker needs. */
  readonly vmnet?: VmnetDesc;
  /** An offload TAP: frames carry a virtio-net header; "tso": up to 64 KiB (datapath/offload/). */
  readonly offload?: OffloadMode;
  /** Rewrites the start line (macOS: vmnet's own interface_param keys over the lease's). */
  startLine?(base: StartLine): Record<string, unknown>;
  /**
   * What must be in place before a frame goes through, and need not be before the start line (a
   * TAP's anti-spoofing rules): run once the line is out, before the forwarding starts.
   */
  beforeFirstFrame?(): void;
  close(): void;
}

/** The helper's claim on its attachment: held by this process, serving `socket` (null with --fd). */
export interface HelperClaim {
  socket: string | null;
}

export interface HelperDeps {
  /** `claim`: record this process as the attachment's owner (not with --keep: the attachment outlives it). */
  attach(claim: HelperClaim | null): HelperLease;
  release(lease: HelperLease): void;
  /** The host side for `lease` (on Linux a TAP guarded for it: only its MAC and addresses get out). */
  openHostPort(lease: HelperLease): HostPort;
}

export interface HelperOptions {
  /** Inherited, already connected datagram socket (its buffer sizes are the caller's job, as in vmnet-helper). */
  fd?: number;
  /** Bind a datagram socket here and serve the first client. */
  socket?: string;
  statsInterval?: number;
  /** Keep the attachment (lease) after exit. */
  keep: boolean;
  /** The port was opened isolated (reported in the start line). */
  isolation?: boolean;
  /**
   * The offloads asked for (--enable-tso: "tso", --enable-checksum-offload alone: "checksum"): with
   * TSO the VM socket is sized for 64 KiB frames (vm-socket.ts); what the frames get is the host
   * port's `offload`.
   */
  offload?: OffloadMode;
  log?: HelperLog;
  /** Started by vmlan's own supervisor (default: $VMLAN_HELPER_SUPERVISED=1): routine stops go unlogged. */
  supervised?: boolean;
}

/** Where the helper's own lines go: vmlan's style by default, vmnet-helper's when started by that name. */
export interface HelperLog {
  info(line: string): void;
  error(line: string): void;
  debug(line: string): void;
}

const vmlanLog: HelperLog = {
  info: (l) => writeOut(2, `vmlan helper: ${l}\n`),
  error: (l) => writeOut(2, `vmlan helper: error: ${l}\n`),
  debug: () => {},
};

/** How often an --fd helper checks that its parent (the VMM or `vmlan run`) still lives. */
const ORPHAN_CHECK_MS = 500;

/** Undo actions in reverse order of creation, plus the one reason the helper stops. */
class Lifetime {
  readonly #undo: Array<() => void | Promise<void>> = [];
  reason: string | undefined;
  code = 0;
  /** A stop the helper's starter asked for (signal) or caused (closed the VM end), not a failure. */
  routine = false;
  readonly stopped: Promise<void>;
  #wake!: () => void;
  constructor(readonly log: HelperLog, readonly quietRoutineStop: boolean) {
    this.stopped = new Promise<void>((r) => { this.#wake = r; });
  }
  onClose(fn: () => void | Promise<void>): void {
    this.#undo.push(fn);
  }
  stop(reason: string, code = 0, routine = false): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.code = code;
    this.routine = routine;
    this.#wake();
  }
  get stopping(): boolean {
    return this.reason !== undefined;
  }
  async close(): Promise<void> {
    if (this.reason && !(this.routine && this.quietRoutineStop)) this.log.info(`stopping: ${this.reason}`);
    for (const fn of this.#undo.reverse()) {
      try {
        await fn();
      } catch (e) {
        this.log.error(`cleanup: ${(e as Error).message}`);
      }
    }
  }
}

/** Runs until SIGTERM/SIGINT or the VM side goes away; returns the exit code (0 for a normal stop). */
export async function runHelper(o: HelperOptions, deps: HelperDeps): Promise<number> {
  const supervised = o.supervised ?? process.env[SUPERVISED_ENV] === "1";
  const life = new Lifetime(o.log ?? vmlanLog, supervised);
  try {
    handleSignals(life);
    const vm = prepareVmPort(o, life); // checked (--fd) or bound (--socket) before anything is allocated
    const lease = attach(deps, o, life);
    const host = openHostPort(deps, lease, life);
    const maxPacket = host.vmnet?.maxPacketSize ?? maxPacketSize(lease.mtu, host.offload);
    const batchSize = maxPacket > 0xffff ? TSO_BATCH_SIZE : BATCH_SIZE; // 64 KiB slots only when frames may be that large
    const base = startLine({ ...lease, interfaceId: lease.id, tap: host.ifname, isolation: o.isolation, offload: host.offload, batchSize });
    life.log.debug(`attached ${lease.id} on ${lease.network}: ${lease.address}/${lease.prefixLength} ${lease.mac}, port ${host.ifname || "vmnet"}`);
    const line = JSON.stringify(host.startLine?.(base) ?? base);
    const vmFd = await vm.ready(line);
    if (vmFd === null) return 0; // stopped while waiting for the first client
    // As vmnet-helper: the line once both ports exist, then the forwarding starts (frames wait in the
    // sockets' buffers meanwhile); setting up the forwarding is not on the ready path.
    if (o.fd !== undefined) printLine(line);
    host.beforeFirstFrame?.(); // frames wait in the sockets' buffers meanwhile
    const fw = await forward(vmFd, host, { maxPacket, batchSize, mtu: lease.mtu }, life);
    if (o.statsInterval) reportStats(fw, o.statsInterval, life);
    if (o.fd !== undefined) watchParent(life);
    trimCode(life);
    await life.stopped;
    return life.code;
  } finally {
    await life.close();
  }
}

function handleSignals(life: Lifetime): void {
  const onTerm = () => life.stop("received SIGTERM", 0, true);
  const onInt = () => life.stop("received SIGINT", 0, true);
  process.on("SIGTERM", onTerm);
  process.on("SIGINT", onInt);
  life.onClose(() => {
    // The process exits once the helper has stopped. A signal in its last steps (a supervisor that
    // repeats SIGTERM, vmnet-run stopping it as the VM exits) finds a handler that lets it finish,
    // not the default action that ends it half way with 143.
    const finishing = () => {};
    process.on("SIGTERM", finishing);
    process.on("SIGINT", finishing);
    process.off("SIGTERM", onTerm);
    process.off("SIGINT", onInt);
  });
}

function attach(deps: HelperDeps, o: HelperOptions, life: Lifetime): HelperLease {
  const lease = deps.attach(o.keep ? null : { socket: o.socket ?? null });
  if (!o.keep) life.onClose(() => deps.release(lease));
  return lease;
}

function openHostPort(deps: HelperDeps, lease: HelperLease, life: Lifetime): HostPort {
  const host = deps.openHostPort(lease);
  life.onClose(() => host.close()); // the TAP disappears with its last fd
  FrameFdPort.setNonBlocking(host.fd);
  return host;
}

/**
 * --fd: the inherited socket, checked (open, unix, datagram, connected). --socket: bound now; once
 * the host side is up, `ready` prints the start line and waits for the first client.
 */
function prepareVmPort(o: HelperOptions, life: Lifetime): { ready(line: string): Promise<number | null> } {
  if (o.socket === undefined) {
    checkVmFd(o.fd!);
    if (o.offload === "tso") growSendBuffer(o.fd!);
    return { ready: async () => o.fd! };
  }
  const sock = bindVmSocket(o.socket, "--socket", o.offload === "tso");
  life.onClose(() => sock.close());
  return {
    ready: async (line) => {
      printLine(line);
      const say = life.quietRoutineStop ? life.log.debug : life.log.info; // a supervisor's helper says only what is wrong
      say(`waiting for client on ${JSON.stringify(o.socket)}`);
      if (!(await connectFirstPeer(sock.fd, () => life.stopping))) return null;
      say("serving the first client");
      return sock.fd;
    },
  };
}

/** A TAP (a frame fd) is forwarded on this thread (forward-inline.ts); a vmnet interface in Workers. */
async function forward(vmFd: number, host: HostPort, f: { maxPacket: number; batchSize: number; mtu: number }, life: Lifetime): Promise<Forwarding> {
  const offload = host.offload ? { mode: host.offload, mtu: f.mtu } : undefined;
  const hostDesc = host.vmnet ? { fd: host.fd, kind: "vmnet" as const, vmnet: host.vmnet } : { fd: host.fd, kind: "frame-fd" as const, offload };
  const o: ForwardingOptions = { vm: { fd: vmFd, kind: "dgram" }, host: hostDesc, maxPacketSize: f.maxPacket, batchSize: f.batchSize };
  // Loaded here, after the start line: the forwarding code is most of the helper's modules (bench helper).
  const fw = hostDesc.kind === "frame-fd" ? await (await import("./forward-inline.ts")).forwardInline(o) : (await import("./workers.ts")).startForwarding(o);
  life.onClose(() => fw.stop()); // registered after the ports, so it runs before they close
  void fw.firstDone.then((d) => {
    if (d.reason === "error") {
      life.log.error(`${d.direction}: ${d.message}`);
      life.stop(`${d.direction} failed`, 1);
    } else if (d.reason === "peer-closed") life.stop("the VM side closed", 0, true);
    else life.stop(`${d.direction} stopped`);
  });
  return fw;
}

function reportStats(fw: Forwarding, seconds: number, life: Lifetime): void {
  const t = setInterval(() => writeOut(2, `${statsLine(fw.stats)}\n`), seconds * 1000);
  life.onClose(() => {
    clearInterval(t);
    writeOut(2, `${statsLine(fw.stats)}\n`); // final counters
  });
}

/**
 * Code pages go back (code-pages.ts) once the start and its follow-up (the sweep of gone ports'
 * rules, the first frames) are done, then every few seconds: what one-off work touched since (the
 * JIT compiling the loop, a MAC learned, a lease written) goes back too. A trim costs a read of
 * /proc/self/maps and a few dozen madvise calls (well under a millisecond, bench helper).
 */
const TRIM_FIRST_MS = 1000;
const TRIM_EVERY_MS = 5000;

function trimCode(life: Lifetime): void {
  if (process.env.VMLAN_HELPER_TRIM === "0") return; // documented in `vmlan --help` (ENVIRONMENT)
  const first = setTimeout(dropCleanCodePages, TRIM_FIRST_MS);
  const every = setInterval(dropCleanCodePages, TRIM_EVERY_MS);
  life.onClose(() => {
    clearTimeout(first);
    clearInterval(every);
  });
}

/** A VMM that passed us --fd and died leaves the socket silent on Linux; being orphaned tells us. */
function watchParent(life: Lifetime): void {
  const parent = process.ppid;
  const t = setInterval(() => { if (process.ppid !== parent) life.stop("parent process exited"); }, ORPHAN_CHECK_MS);
  life.onClose(() => clearInterval(t));
}

function printLine(line: string): void {
  writeOut(1, `${line}\n`);
}
