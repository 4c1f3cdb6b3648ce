/**
 * Starting, stopping and listing VMs. The steps of `startVm` are named by their verb and each
 * resource is released by the step that made it (STYLE habit 14): leases (IPAM) are released when
 * the VM ends; TAP fds are handed to the hypervisor and vmlan closes its own copies right away, so
 * a TAP lives exactly as long as its VM.
 */
import { ConflictError, NotFoundError, UsageError } from "../core/errors.ts";
import type { LeaseService } from "../core/leases.ts";
import type { Attachment, Owner } from "../core/resources/attachment.ts";
import { attachmentIdentity } from "../core/port-follow.ts";
import type { NetworkService } from "../core/networks.ts";
import { checkInputFile, checkNetworksExist, checkOutputFile } from "../core/input-checks.ts";
import type { Accel, ConsoleMode, NicPort, VmBackend, VmProcess } from "./backend.ts";
import { ensureGuestImage } from "./image.ts";
import type { VmRegistry, VmRecord } from "./registry.ts";
import { guestCmdline, nicFrom, type VmNic, type VmRequest } from "./spec.ts";
import type { PortSpec } from "../core/ports/spec.ts";

/** Published ports for VMs (core/ports/service.ts PortService): -p on the first network, with id = the VM name. */
export interface VmPorts {
  preflight(network: string, id: string, specs: PortSpec[], o: { probe: boolean }): Promise<void>;
  set(network: string, id: string, specs: PortSpec[]): Promise<unknown>;
  sync(): Promise<unknown>;
}

export interface VmDeps {
  networks: NetworkService;
  leases: LeaseService;
  backend: VmBackend;
  registry: VmRegistry;
  log: (msg: string) => void;
  /**
   * Who owns a VM's leases (issue #12 item 10): this process while it runs the VM in the foreground,
   * the hypervisor once a detached VM runs; a dead owner's leases are released as orphans.
   */
  owners?: { self(): Owner; of(pid: number): Owner | null };
  /** Absent where ports cannot be published (no platform for them): -p is refused then. */
  ports?: VmPorts;
}

export interface StartedVm {
  record: VmRecord;
  proc: VmProcess;
  helpers: { pid: number; exited: Promise<number> }[];
  /** Native NICs' anti-spoofing (foreground): stopped and removed by stopHelpers once the VM is gone. */
  guards?: { stop(): void }[];
}

/** SIGTERM, then this long for QEMU to exit before SIGKILL (it usually takes < 100 ms). */
const STOP_GRACE_MS = 5000;

export async function startVm(req: VmRequest, d: VmDeps, opts: { consolePipe?: boolean; publish?: PortSpec[] } = {}): Promise<StartedVm> {
  checkNotRunning(req.name, d);
  checkRequest(req, d); // everything the user named, before anything is built, attached or started
  const publish = opts.publish ?? [];
  if (publish.length > 0) {
    if (!d.ports) throw new UsageError("--publish: this platform cannot publish ports");
    await d.ports.preflight(req.networks[0]!, req.name, publish, { probe: true });
  }
  const boot = bootFiles(req, d);
  const accel = chooseAccel(d);
  // -p sets the VM's ports (once its lease exists, before the host side is up); without it, the
  // ports stored with its attachment come back.
  const { nics, attachments, undo } = await attachNics(req, d, () => (publish.length > 0 ? d.ports!.set(req.networks[0]!, req.name, publish) : Promise.resolve()));
  const ports: NicPort[] = [];
  try {
    await d.ports?.sync(); // onto the bridges attachNics brought up
    for (const [i, n] of nics.entries()) {
      const a = attachments[i]!;
      const identity = attachmentIdentity(d.leases, a, { pinned: true }); // QEMU is given this MAC
      const port = await d.backend.openNic({ network: n.network, bridge: n.bridge, id: req.name, attachment: req.attachment, detach: req.detach, identity });
      ports.push(port);
      n.ifname = port.ifname;
    }
    const console = consoleMode(req, d, opts.consolePipe ?? false);
    const proc = await d.backend.start({
      name: req.name, accel: accel.accel, cpus: req.cpus, memoryMb: req.memoryMb, ...boot,
      append: guestCmdline(req, nics), disk: req.disk,
      nics: nics.map((n, i) => ({ mac: n.mac, port: ports[i]! })), console,
      pidfile: req.detach ? d.registry.path(req.name, ".pid") : undefined,
    });
    const helpers = ports.flatMap((p) => (p.helperPid ? [{ pid: p.helperPid, exited: p.helperExited! }] : []));
    const record: VmRecord = {
      name: req.name, pid: proc.pid, supervisorPid: req.detach ? null : process.pid, accel: accel.accel, attachment: req.attachment,
      nics, console: console.kind === "file" ? console.path : "-", helperPids: helpers.map((h) => h.pid), startedAt: new Date().toISOString(),
    };
    d.registry.put(record);
    if (req.detach) handOver(req.name, nics, proc.pid, d); // the daemonized hypervisor holds the leases now
    // A detached VM's TAP rules are swept once it is gone (finishVm); in the foreground this process removes them.
    const guards = req.detach ? [] : ports.flatMap((p) => (p.guard ? [{ stop: () => p.guard!.release() }] : []));
    return { record, proc, helpers, guards };
  } catch (e) {
    for (const p of ports) if (p.helperPid) killQuietly(p.helperPid, "SIGTERM");
    closePorts(ports);
    for (const p of ports) p.guard?.release();
    undo(); // the store as this run found it: no claim left by a VM that never ran
    await d.ports?.sync().catch(() => {});
    throw e;
  } finally {
    closePorts(ports); // the hypervisor holds its own copies of the fds now
  }
}

/** A delay that does not keep the process alive: a Bun.sleep that lost a race would hold `vm run` open until it fires. */
export function idle(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

function killQuietly(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {}
}

/** After QEMU exits: SIGTERM each helper (it releases its TAP), SIGKILL after the grace period. */
export async function stopHelpers(vm: Pick<StartedVm, "helpers" | "guards">): Promise<void> {
  for (const g of vm.guards ?? []) g.stop();
  await Promise.all(vm.helpers.map(async (h) => {
    killQuietly(h.pid, "SIGTERM");
    if (!(await Promise.race([h.exited.then(() => true), idle(STOP_GRACE_MS).then(() => false)]))) killQuietly(h.pid, "SIGKILL");
    await h.exited;
  }));
}

function checkNotRunning(name: string, d: VmDeps): void {
  const rec = d.registry.get(name);
  if (!rec) return;
  if (d.backend.alive(rec.pid)) throw new ConflictError(`VM "${name}" is already running (pid ${rec.pid}); stop it with \`vmlan vm stop ${name}\``);
  finishVm(rec, d); // a stale record of a VM that died without cleanup
}

function bootFiles(req: VmRequest, d: VmDeps): { kernel: string; initrd?: string } {
  if (req.kernel) return { kernel: req.kernel, initrd: req.initrd };
  const img = ensureGuestImage({ log: d.log });
  return { kernel: img.kernel, initrd: img.initrd };
}

function chooseAccel(d: VmDeps): Accel {
  const a = d.backend.accel();
  if (a.accel === "tcg") d.log(`note: ${a.reason}`);
  return a;
}

/** Brings a network's host side up in this process (idempotent; on macOS 26 this process then holds it). */
export async function ensureHostSide(name: string, d: Pick<VmDeps, "networks">): Promise<{ bridge: string }> {
  const net = d.networks.get(name);
  await d.networks.platform?.ensureNetwork(d.networks.spec(net));
  return net;
}

/**
 * Takes a lease with id = VM name on each network, runs `published` (the VM's ports, which need the
 * lease), then brings each network's host side up (idempotent): last, because a macOS 26 network
 * takes its forwarding rules only when this process creates it. `undo` gives the leases back.
 */
async function attachNics(req: VmRequest, d: VmDeps, published: () => Promise<unknown>): Promise<{ nics: VmNic[]; attachments: Attachment[]; undo(): void }> {
  const nics: VmNic[] = [];
  const attachments: Attachment[] = [];
  const undos: Array<() => void> = [];
  const undo = () => { for (const u of undos.splice(0).reverse()) u(); };
  try {
    for (const name of req.networks) {
      const net = d.networks.get(name);
      const a = d.leases.attach({ network: name, id: req.name, hostname: req.name, owner: d.owners?.self(), allowSpoofing: req.allowSpoofing });
      undos.push(a.undo);
      attachments.push(a.attachment);
      nics.push(nicFrom(a.attachment, net.bridge));
    }
    await published();
    for (const name of req.networks) await ensureHostSide(name, d);
    return { nics, attachments, undo };
  } catch (e) {
    undo();
    throw e;
  }
}

/** A detached VM's leases belong to its hypervisor process from now on (if it still runs). */
function handOver(name: string, nics: VmNic[], pid: number, d: VmDeps): void {
  const owner = d.owners?.of(pid);
  if (owner) for (const n of nics) d.leases.setOwner(n.network, name, owner);
}

/** The files, networks and hypervisor a request names exist and are usable (issue #12 item 12). */
function checkRequest(req: VmRequest, d: VmDeps): void {
  for (const [flag, path] of [["--kernel", req.kernel], ["--initrd", req.initrd], ["--disk", req.disk]] as const) {
    if (path !== undefined) checkInputFile(flag, path);
  }
  if (req.console !== undefined && req.console !== "-") checkOutputFile("--console", req.console);
  checkNetworksExist(req.networks, (n) => d.networks.store.getNetwork(n) !== null);
  d.backend.preflight?.();
}

function consoleMode(req: VmRequest, d: VmDeps, pipe: boolean): ConsoleMode {
  if (pipe) return { kind: "stdio", stdio: "pipe" };
  const c = req.console ?? (req.detach ? d.registry.path(req.name, ".console.log") : "-");
  return c === "-" ? { kind: "stdio", stdio: "inherit" } : { kind: "file", path: c };
}

function closePorts(ports: NicPort[]): void {
  for (const p of ports) p.close();
}

/** Sticky IPAM: a released lease keeps its address and MAC for the next run with the same name. */
function releaseNics(name: string, nics: { network: string }[], d: VmDeps): void {
  for (const n of nics) {
    try {
      d.leases.detach(n.network, name, { ifExists: true });
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e; // the network itself was removed meanwhile
    }
  }
}

/** After the VM is gone: leases released, record removed. Idempotent (stop and the foreground run both call it). */
export function finishVm(rec: VmRecord, d: VmDeps): void {
  releaseNics(rec.name, rec.nics, d);
  d.registry.remove(rec.name);
  d.networks.platform?.sweepPorts?.(); // the rules of its TAPs, which went with the hypervisor
}

export async function stopVm(name: string, d: VmDeps): Promise<VmRecord> {
  const rec = d.registry.get(name);
  if (!rec) throw new NotFoundError(`no running VM named "${name}"; see \`vmlan vm list\``);
  if (d.backend.alive(rec.pid)) {
    process.kill(rec.pid, "SIGTERM");
    const end = Date.now() + STOP_GRACE_MS;
    while (d.backend.alive(rec.pid) && Date.now() < end) await Bun.sleep(50);
    if (d.backend.alive(rec.pid)) process.kill(rec.pid, "SIGKILL");
    while (d.backend.alive(rec.pid)) await Bun.sleep(20);
  }
  finishVm(rec, d);
  await d.ports?.sync(); // its published ports stop with it
  return rec;
}

/** Running VMs; records of dead ones are cleaned up on the way (leases released). */
export function listVms(d: VmDeps): VmRecord[] {
  const out: VmRecord[] = [];
  for (const name of d.registry.names()) {
    const rec = d.registry.get(name);
    if (!rec) continue;
    if (d.backend.alive(rec.pid)) out.push(rec);
    else finishVm(rec, d);
  }
  return out;
}
