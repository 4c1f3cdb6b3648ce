/**
 * The macOS VM backend: Virtualization.framework through shims/vz.m (ffi/vz). The VM runs inside this
 * process (VZ has no separate hypervisor process), so `start` returns this process's pid and an
 * `exited` promise fed by polling the VM state. NICs: a datagram fd served by `vmlan helper` (the
 * VZFileHandleNetworkDeviceAttachment; one frame per datagram, as on Linux with QEMU), or, when this
 * process owns the macOS 26 vmnet network, VZVmnetNetworkDeviceAttachment on it (Apple: "a VM can only
 * use the network that the same application process creates").
 * The pure part (plan + the call sequence into the shim) is unit-tested on Linux with a fake symbol
 * table; the shim itself is compiled and booted only by scripts/verify-macos.sh on a Mac.
 */
import { closeSync, openSync } from "node:fs";
import type { Pointer } from "bun:ffi";
import { HostError, UsageError } from "../../core/errors.ts";
import type { Accel, HypervisorConfig, NicPort, VmBackend, VmProcess } from "../../vm/backend.ts";
import { openHelperNic } from "../../datapath/helper-nic.ts";
import { vz } from "../../../ffi/vz/load.ts";

/** Bytes of the caller buffer the shim writes its error text into (char *err, size_t cap). */
export const ERR_CAP = 1024;
/** How often the foreground backend asks the VM for its state. */
const STATE_POLL_MS = 200;
/** VZVirtualMachineState values (shims/vz.m vmlan_vz_state, low byte) that mean the VM is over. */
const STOPPED = 0, ERROR = 3;

export type VzNic = { kind: "fd"; fd: number; mac: string; mtu: number } | { kind: "network"; network: number; mac: string };

/** Everything vmlan_vz_config_* takes, as plain values. */
export interface VzPlan {
  kernel: string;
  initrd: string | null;
  cmdline: string;
  cpus: number;
  memoryBytes: bigint;
  consoleIn: number;
  consoleOut: number;
  disks: { path: string; readOnly: boolean }[];
  nics: VzNic[];
}

/** A NIC on a vmnet network this process owns (macOS 26): `network` is the vmnet_network_ref. */
export interface VzNicPort extends NicPort { readonly network?: number; readonly mtu?: number }

/** The guest's console on VZ is a virtio console (hvc0), not a 16550 UART (ttyS0). */
export function vzCmdline(append: string): string {
  return /\bconsole=ttyS0\b/.test(append) ? append.replace(/\bconsole=ttyS0\b/g, "console=hvc0") : `console=hvc0 ${append}`.trim();
}

/** Pure: the shim's arguments for one VM. */
export function vzPlan(cfg: HypervisorConfig, console: { in: number; out: number }): VzPlan {
  if (!Number.isInteger(cfg.cpus) || cfg.cpus < 1) throw new UsageError(`cpus must be a positive integer, got ${cfg.cpus}`);
  if (!Number.isInteger(cfg.memoryMb) || cfg.memoryMb < 64) throw new UsageError(`memory must be at least 64 MiB, got ${cfg.memoryMb}`);
  if (cfg.pidfile) throw new UsageError("detached VMs (--detach) are not supported on macOS yet: the VM runs inside vmlan's own process");
  const nics: VzNic[] = cfg.nics.map((n) => {
    const p = n.port as VzNicPort;
    if (p.network !== undefined) return { kind: "network", network: p.network, mac: n.mac };
    return { kind: "fd", fd: p.fd, mac: n.mac, mtu: p.mtu ?? 0 };
  });
  return {
    kernel: cfg.kernel,
    initrd: cfg.initrd ?? null,
    cmdline: vzCmdline(cfg.append),
    cpus: cfg.cpus,
    memoryBytes: BigInt(cfg.memoryMb) * 1024n * 1024n,
    consoleIn: console.in,
    consoleOut: console.out,
    disks: cfg.disk ? [{ path: cfg.disk, readOnly: false }] : [],
    nics,
  };
}

/** A NUL-terminated C string (the shim's `const char *`); null stays NULL. */
export function cstr(s: string | null): Buffer | null {
  return s === null ? null : Buffer.from(`${s}\0`);
}

/** The text the shim wrote into `err` (up to the first NUL). */
export function errText(err: Uint8Array): string {
  const end = err.indexOf(0);
  return new TextDecoder().decode(err.subarray(0, end < 0 ? err.length : end)) || "unknown error";
}

export type VzCalls = Pick<ReturnType<typeof vz>, "vmlan_vz_config_new" | "vmlan_vz_config_add_disk" | "vmlan_vz_config_add_nic_fd" | "vmlan_vz_config_add_nic_network" | "vmlan_vz_free">;

/**
 * Builds the configuration through the shim: config_new, then each disk, then each NIC in order.
 * Returns the configuration handle; on any failure frees it and throws the shim's error text.
 */
export function configure(plan: VzPlan, calls: VzCalls, err: Uint8Array = new Uint8Array(ERR_CAP)): Pointer {
  const cfg = calls.vmlan_vz_config_new(cstr(plan.kernel), cstr(plan.initrd), cstr(plan.cmdline), plan.cpus, plan.memoryBytes, plan.consoleIn, plan.consoleOut, err, err.length);
  if (!cfg) throw new HostError(`Virtualization.framework configuration: ${errText(err)}`);
  try {
    for (const d of plan.disks) {
      if (calls.vmlan_vz_config_add_disk(cfg, cstr(d.path), d.readOnly ? 1 : 0, err, err.length) !== 0) throw new HostError(errText(err));
    }
    for (const n of plan.nics) {
      const r = n.kind === "fd"
        ? calls.vmlan_vz_config_add_nic_fd(cfg, n.fd, cstr(n.mac), n.mtu, err, err.length)
        : calls.vmlan_vz_config_add_nic_network(cfg, n.network as unknown as Pointer, cstr(n.mac), err, err.length);
      if (r !== 0) throw new HostError(`NIC ${n.mac}: ${errText(err)}`);
    }
  } catch (e) {
    calls.vmlan_vz_free(cfg);
    throw e;
  }
  return cfg as Pointer;
}

/** Pure: what a vmlan_vz_state value means: still running, or the exit code to report. */
export function exitCodeOf(state: number): number | null {
  const low = state & 0xff;
  if (state & 0x200 || low === ERROR) return 1;
  if (state & 0x100 || low === STOPPED) return 0;
  return null;
}

interface Console { in: number; out: number; extra: Pick<VmProcess, "stdin" | "stdout">; close(): void }

function openConsole(cfg: HypervisorConfig): Console {
  if (cfg.console.kind === "file") {
    const fd = openSync(cfg.console.path, "w", 0o644);
    return { in: -1, out: fd, extra: {}, close: () => closeSync(fd) };
  }
  if (cfg.console.stdio === "inherit") return { in: 0, out: 1, extra: {}, close: () => {} };
  // Piped (vmlan demo drives the guest's console): would need a socketpair handed to VZ; not built yet.
  throw new UsageError("a piped console is not supported on macOS yet; use the terminal or a console file");
}

function start(cfg: HypervisorConfig): Promise<VmProcess> {
  const lib = vz();
  if (lib.vmlan_vz_supported() !== 1) throw new HostError("this Mac cannot run virtual machines (VZVirtualMachine.isSupported is false)");
  const con = openConsole(cfg);
  const err = new Uint8Array(ERR_CAP);
  let cfgHandle: Pointer;
  try {
    cfgHandle = configure(vzPlan(cfg, con), lib, err);
  } catch (e) {
    con.close();
    throw e;
  }
  const vm = lib.vmlan_vz_start(cfgHandle, err, err.length);
  lib.vmlan_vz_free(cfgHandle);
  if (!vm) {
    con.close();
    throw new HostError(`Virtualization.framework: ${errText(err)}`);
  }
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((r) => { resolveExit = r; });
  let stopRequested = false;
  const onSignal = () => {
    // First signal: the ACPI power button (the guest shuts down); a second one stops the VM at once.
    lib.vmlan_vz_stop(vm, stopRequested ? 1 : 0, err, err.length);
    stopRequested = true;
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  const timer = setInterval(() => {
    const code = exitCodeOf(lib.vmlan_vz_state(vm));
    if (code === null) return;
    clearInterval(timer);
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
    lib.vmlan_vz_free(vm);
    con.close();
    resolveExit(code);
  }, STATE_POLL_MS);
  return Promise.resolve({ pid: process.pid, exited, ...con.extra });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface VzBackendOptions {
  /** The vmnet_network_ref of `network` when this process holds it (macOS 26), else null. */
  ownedNetwork?: (network: string) => number | null;
}

/** `self`: the argv that runs this vmlan again (for `vmlan helper`). */
export function createVzBackend(self: string[], o: VzBackendOptions = {}): VmBackend {
  return {
    accel: (): Accel => ({ accel: "vz", reason: "Virtualization.framework (Hypervisor.framework underneath)" }),
    openNic: async (n) => {
      const owned = n.attachment === "native" ? o.ownedNetwork?.(n.network) ?? null : null;
      if (owned !== null) {
        const port: VzNicPort = { kind: "dgram", fd: -1, ifname: `vmnet:${n.network}`, network: owned, close: () => {} };
        return port;
      }
      return openHelperNic({ self, network: n.network, id: n.id });
    },
    start,
    ensureInstalled: () => {
      try {
        if (vz().vmlan_vz_supported() === 1) return;
      } catch (e) {
        throw new HostError(`the Virtualization.framework shim did not load: ${(e as Error).message} (scripts/verify-macos.sh builds it)`, { cause: e });
      }
      throw new HostError("this Mac cannot run virtual machines (VZVirtualMachine.isSupported is false)");
    },
    alive,
  };
}

