/**
 * The pure half of the Virtualization.framework backend (vz.ts): a HypervisorConfig → the plain
 * arguments of shims/vz.m's vmlan_vz_config_* exports, the call sequence that builds a configuration,
 * and what a vmlan_vz_state value means. Unit-tested on Linux against a fake shim
 * (test/unit/platform/darwin/vz.test.ts); the shim itself only builds on a Mac.
 */
import type { Pointer } from "bun:ffi";
import { HostError, UsageError } from "../../core/errors.ts";
import type { HypervisorConfig, NicPort } from "../../vm/backend.ts";
import type { vz } from "../../../ffi/vz/load.ts";

/** Bytes of the caller buffer the shim writes its error text into (char *err, size_t cap). */
export const ERR_CAP = 1024;
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

/**
 * A VZ NIC port: `network` is the vmnet_network_ref of a macOS 26 network this process holds (the
 * VZVmnetNetworkDeviceAttachment); `deferred` marks a NIC of a detached VM, opened by its host process
 * (vz-host.ts) rather than by `vm run`.
 */
export interface VzNicPort extends NicPort {
  readonly network?: number;
  readonly deferred?: { network: string; id: string };
}

/** The guest's console on VZ is a virtio console (hvc0), not a 16550 UART (ttyS0). */
export function vzCmdline(append: string): string {
  return /\bconsole=ttyS0\b/.test(append) ? append.replace(/\bconsole=ttyS0\b/g, "console=hvc0") : `console=hvc0 ${append}`.trim();
}

/** Pure: the shim's arguments for one VM. */
export function vzPlan(cfg: HypervisorConfig, console: { in: number; out: number }): VzPlan {
  if (!Number.isInteger(cfg.cpus) || cfg.cpus < 1) throw new UsageError(`cpus must be a positive integer, got ${cfg.cpus}`);
  if (!Number.isInteger(cfg.memoryMb) || cfg.memoryMb < 64) throw new UsageError(`memory must be at least 64 MiB, got ${cfg.memoryMb}`);
  const nics: VzNic[] = cfg.nics.map((n) => {
    const p = n.port as VzNicPort;
    if (p.deferred) throw new UsageError(`NIC ${n.mac} on ${p.deferred.network} belongs to a detached VM's host process`);
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
