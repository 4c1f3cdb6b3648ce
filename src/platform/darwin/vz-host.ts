/**
 * A detached Virtualization.framework VM. VZ runs a VM inside the calling process, so a VM that must
 * outlive `vmlan vm run --detach` needs a process of its own: this vmlan re-exec'd as
 * `vmlan vm _vz-host --spec JSON` (hidden), in its own session (setsid), stdin /dev/null, stdout and
 * stderr appended to the VM's console log (<state>/vms/NAME.console.log).
 *   parent (startDetached, the VZ backend's `start` when cfg.pidfile is set): drops its own hold on the
 *     NICs' vmnet networks, spawns the host, waits until the host writes its pid to the pidfile (the
 *     ready signal: VM started, NICs attached), returns that pid; launch.ts records it as the VM's pid.
 *   host (runVzHost): brings each network up in ITS process (so on macOS 26 it holds the network and
 *     vz.ts's nicAttachment picks VZVmnetNetworkDeviceAttachment; otherwise it starts `vmlan helper`s,
 *     its own children, which live as long as it does), boots the VM, writes the pidfile, and on
 *     SIGTERM (`vm stop`) asks the guest to stop, forces vmlan_vz_stop after FORCE_AFTER_MS (inside
 *     `vm stop`'s 5 s grace), stops the helpers and exits with the VM's code.
 * Leases and the registry record stay launch.ts's: the parent took the leases; `vm stop`/`vm list`
 * release them when this process is gone.
 */
import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { HostError, UsageError } from "../../core/errors.ts";
import type { HypervisorConfig, NicPort, VmBackend, VmProcess } from "../../vm/backend.ts";
import type { VzNicPort } from "./vz-config.ts";

/** The hidden sub-command of `vmlan vm` (src/cli/commands/vm/_vz-host.ts). */
export const HOST_COMMAND = "_vz-host";
/** NIC helpers (up to 30 s each) and vmlan_vz_start (up to 30 s) on a loaded Mac. */
const READY_TIMEOUT_MS = 90_000;
const POLL_MS = 50;
/** After `vm stop`'s SIGTERM: the ACPI request first, vmlan_vz_stop(force) this much later. */
export const FORCE_AFTER_MS = 3000;

export interface VzHostSpec {
  name: string;
  kernel: string;
  initrd: string | null;
  append: string;
  cpus: number;
  memoryMb: number;
  disk: string | null;
  console: string;
  pidfile: string;
  nics: { mac: string; network: string; id: string }[];
}

type SpawnOptions = { stdio: ["ignore", number, number]; detached: true; env: Record<string, string | undefined> };
export type Spawn = (argv: string[], o: SpawnOptions) => { pid: number; exited: Promise<number>; unref(): void; kill(sig?: number | NodeJS.Signals): void };

/** Pure: what the host process needs, from launch.ts's HypervisorConfig (NICs deferred by openNic). */
export function hostSpec(cfg: HypervisorConfig): VzHostSpec {
  if (!cfg.pidfile) throw new UsageError("a VZ host process is only for detached VMs");
  if (cfg.console.kind !== "file") throw new UsageError("a detached VM's console must be a file (--console FILE; default <state>/vms/NAME.console.log)");
  const nics = cfg.nics.map((n) => {
    const d = (n.port as VzNicPort).deferred;
    if (!d) throw new UsageError(`NIC ${n.mac} was opened in this process; a detached VM's host process opens its own`);
    return { mac: n.mac, network: d.network, id: d.id };
  });
  return {
    name: cfg.name, kernel: cfg.kernel, initrd: cfg.initrd ?? null, append: cfg.append, cpus: cfg.cpus, memoryMb: cfg.memoryMb,
    disk: cfg.disk ?? null, console: cfg.console.path, pidfile: cfg.pidfile, nics,
  };
}

export function hostArgv(self: string[], spec: VzHostSpec): string[] {
  return [...self, "vm", HOST_COMMAND, "--spec", JSON.stringify(spec)];
}

/** The caller's environment, with the state dir pinned to the one whose registry holds the pidfile (<state>/vms/NAME.pid). */
export function hostEnv(spec: VzHostSpec, env: Record<string, string | undefined> = process.env): Record<string, string | undefined> {
  return { ...env, VMLAN_STATE_DIR: dirname(dirname(spec.pidfile)) };
}

export function parseHostSpec(json: string): VzHostSpec {
  let s: VzHostSpec;
  try {
    s = JSON.parse(json) as VzHostSpec;
  } catch (e) {
    throw new UsageError(`--spec is not JSON: ${(e as Error).message}`);
  }
  const ok = typeof s?.name === "string" && typeof s.kernel === "string" && typeof s.append === "string" && typeof s.console === "string"
    && typeof s.pidfile === "string" && Number.isInteger(s.cpus) && Number.isInteger(s.memoryMb) && Array.isArray(s.nics)
    && s.nics.every((n) => typeof n?.mac === "string" && typeof n.network === "string" && typeof n.id === "string");
  if (!ok) throw new UsageError("--spec is not a VZ host spec (it is written by `vmlan vm run --detach`)");
  return s;
}

function readPid(pidfile: string): number | null {
  if (!existsSync(pidfile)) return null;
  const pid = Number(readFileSync(pidfile, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

function lastLine(path: string): string {
  try {
    return readFileSync(path, "utf8").trim().split("\n").pop() ?? "";
  } catch {
    return "";
  }
}

export interface DetachDeps {
  self: string[];
  spawn?: Spawn;
  releaseNetwork?: (network: string) => void;
  readyTimeoutMs?: number;
}

/** The parent's side: spawn the host, wait for its pidfile, return its pid. */
export async function startDetached(cfg: HypervisorConfig, d: DetachDeps): Promise<VmProcess> {
  const spec = hostSpec(cfg);
  // On macOS 26 `vm run` holds the networks it ensured; the host must create them itself (vmnet refuses an overlap).
  for (const net of new Set(spec.nics.map((n) => n.network))) d.releaseNetwork?.(net);
  rmSync(spec.pidfile, { force: true });
  const log = openSync(spec.console, "a", 0o644);
  let child: ReturnType<Spawn>;
  try {
    child = (d.spawn ?? (Bun.spawn as unknown as Spawn))(hostArgv(d.self, spec), { stdio: ["ignore", log, log], detached: true, env: hostEnv(spec) });
  } finally {
    closeSync(log); // the host has its own copies
  }
  child.unref();
  let status: number | null = null;
  void child.exited.then((c) => { status = c; });
  const end = Date.now() + (d.readyTimeoutMs ?? READY_TIMEOUT_MS);
  for (;;) {
    if (readPid(spec.pidfile) === child.pid) return { pid: child.pid };
    if (status !== null) throw new HostError(`the VM host process exited (status ${status}) before the VM ran: ${lastLine(spec.console) || `see ${spec.console}`}`);
    if (Date.now() > end) {
      child.kill("SIGKILL");
      throw new HostError(`the VM host process did not start the VM within ${(d.readyTimeoutMs ?? READY_TIMEOUT_MS) / 1000} s (log: ${spec.console})`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export interface VzHostDeps {
  /** This process's VZ backend (its nicAttachment sees the networks this process holds). */
  backend: VmBackend;
  /** Brings `network`'s host side up in this process (macOS 26: this process now holds it); its bridge. */
  ensureNetwork(network: string): Promise<string>;
  /** launch.ts's stopHelpers. */
  stopHelpers(vm: { helpers: { pid: number; exited: Promise<number> }[] }): Promise<void>;
  log(msg: string): void;
}

function writePid(pidfile: string): void {
  const tmp = `${pidfile}.${process.pid}.tmp`;
  writeFileSync(tmp, `${process.pid}\n`);
  renameSync(tmp, pidfile);
}

/** The host's side: NICs, VM, pidfile (ready), then wait; resolves with the VM's exit code. */
export async function runVzHost(spec: VzHostSpec, d: VzHostDeps): Promise<number> {
  const ports: NicPort[] = [];
  let proc: VmProcess;
  try {
    for (const n of spec.nics) {
      const bridge = await d.ensureNetwork(n.network);
      ports.push(await d.backend.openNic({ network: n.network, bridge, id: n.id, attachment: "native" }));
    }
    proc = await d.backend.start({
      name: spec.name, accel: "vz", cpus: spec.cpus, memoryMb: spec.memoryMb, kernel: spec.kernel, initrd: spec.initrd ?? undefined,
      append: spec.append, disk: spec.disk ?? undefined, nics: spec.nics.map((n, i) => ({ mac: n.mac, port: ports[i]! })),
      console: { kind: "file", path: spec.console },
    });
  } catch (e) {
    for (const p of ports) if (p.helperPid) try { process.kill(p.helperPid, "SIGTERM"); } catch {}
    throw e;
  } finally {
    for (const p of ports) p.close(); // the backend holds its own copies of the fds
  }
  const helpers = ports.flatMap((p) => (p.helperPid ? [{ pid: p.helperPid, exited: p.helperExited! }] : []));
  const onSignal = () => {
    proc.stop?.();
    setTimeout(() => proc.stop?.(true), FORCE_AFTER_MS).unref();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  writePid(spec.pidfile);
  d.log(`VM ${spec.name} running in host process ${process.pid}`);
  const code = await proc.exited!;
  process.off("SIGTERM", onSignal);
  process.off("SIGINT", onSignal);
  await d.stopHelpers({ helpers });
  d.log(`VM ${spec.name} stopped (exit ${code})`);
  return code;
}
