/**
 * The macOS VM backend: Virtualization.framework through shims/vz.m (ffi/vz). VZ has no separate
 * hypervisor process: a VM runs inside the process that calls vmlan_vz_start. So
 *   - in the foreground (`vm run`, `vmlan demo`) it runs in vmlan's own process: `start` returns this
 *     pid, `exited` (fed by polling the VM state) and `stop()`; the console is a file, this terminal, or
 *     a socketpair that GuestConsole drives (vz-console.ts);
 *   - detached (`vm run --detach`, cfg.pidfile set) it runs in a re-exec'd host process,
 *     `vmlan vm _vz-host` (vz-host.ts), whose pid the registry records and `vm stop` signals.
 * NICs: one rule, nicAttachment() below. The pure part (plan + the calls into the shim) is vz-config.ts.
 */
import type { Pointer } from "bun:ffi";
import { HostError } from "../../core/errors.ts";
import type { Accel, HypervisorConfig, VmBackend, VmProcess } from "../../vm/backend.ts";
import { openHelperNic } from "../../datapath/helper-nic.ts";
import { vz } from "../../../ffi/vz/load.ts";
import { libc } from "../../../ffi/libc/load.ts";
import { OS } from "../../../ffi/libc/os.ts";
import { fcntlInt } from "../../../ffi/libc/variadic.ts";
import { check } from "../../../ffi/errno.ts";
import { configure, ERR_CAP, errText, exitCodeOf, vzPlan, type VzNicPort } from "./vz-config.ts";
import { openConsole } from "./vz-console.ts";
import { startDetached, type Spawn } from "./vz-host.ts";
import { NETWORKS_SINCE } from "./version.ts";

export * from "./vz-config.ts";

/** How often a running VM is asked for its state. */
const STATE_POLL_MS = 200;
/** fcntl's F_DUPFD: 0 in both xnu's and Linux's <fcntl.h>. */
const F_DUPFD = 0;

/**
 * The VM's own copy of a NIC fd. VZ keeps the caller's fd (closeOnDealloc:NO) for the VM's lifetime,
 * while launch.ts closes the port's fds right after `start` (QEMU inherited copies): so, like a child
 * process, the in-process VM gets copies, closed when it is over.
 */
function ownCopy(fd: number): number {
  const c = check("fcntl", fcntlInt(fd, F_DUPFD, 3), "F_DUPFD");
  fcntlInt(c, OS.F_SETFD, OS.FD_CLOEXEC);
  return c;
}

export type VzLib = Pick<ReturnType<typeof vz>, "vmlan_vz_supported" | "vmlan_vz_config_new" | "vmlan_vz_config_add_disk" | "vmlan_vz_config_add_nic_fd"
  | "vmlan_vz_config_add_nic_network" | "vmlan_vz_start" | "vmlan_vz_state" | "vmlan_vz_stop" | "vmlan_vz_free">;

/**
 * THE rule for a VZ NIC (decided here and nowhere else): VZVmnetNetworkDeviceAttachment on the network
 * when the VM runs on macOS 26+ AND the process running the VM holds that vmnet network (the
 * platform's held networks, held.ts: `ensureNetwork` in this process); otherwise a datagram fd served
 * by `vmlan helper` (VZFileHandleNetworkDeviceAttachment). Why both conditions:
 *   - Apple: "a VM can only use the network that the same application process creates", and
 *     vmnet_network_ref (hence the attachment) exists only on macOS 26;
 *   - a standalone `vmlan helper` creates its own vmnet network, which vmnet refuses as an overlap
 *     while this process holds the same subnet: a held network must not go through a helper.
 * So on macOS the native/helper label of `vm run` does not choose the attachment; holding does.
 */
export function nicAttachment(o: { major: number; held: number | null }): { kind: "vmnet"; network: number } | { kind: "helper" } {
  return o.major >= NETWORKS_SINCE && o.held !== null ? { kind: "vmnet", network: o.held } : { kind: "helper" };
}

/** Starts the VM in this process. `stop()`: first call asks the guest (ACPI), later calls (or force) stop it at once. */
export function startInProcess(cfg: HypervisorConfig, lib: VzLib): VmProcess {
  if (lib.vmlan_vz_supported() !== 1) throw new HostError("this Mac cannot run virtual machines (VZVirtualMachine.isSupported is false)");
  const copies: number[] = [];
  const con = openConsole(cfg.console);
  const release = () => {
    for (const fd of copies.splice(0)) libc().close(fd);
    con.close();
  };
  const err = new Uint8Array(ERR_CAP);
  let cfgHandle: Pointer;
  try {
    const nics = cfg.nics.map((n) => {
      if (n.port.fd < 0) return n; // a vmnet network attachment: no fd
      copies.push(ownCopy(n.port.fd));
      return { mac: n.mac, port: { ...n.port, fd: copies.at(-1)! } };
    });
    cfgHandle = configure(vzPlan({ ...cfg, nics }, con), lib, err);
  } catch (e) {
    release();
    throw e;
  }
  const vm = lib.vmlan_vz_start(cfgHandle, err, err.length);
  lib.vmlan_vz_free(cfgHandle);
  if (!vm) {
    release();
    throw new HostError(`Virtualization.framework: ${errText(err)}`);
  }
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((r) => { resolveExit = r; });
  let over = false;
  let asked = false;
  const stop = (force = false) => {
    if (over) return;
    lib.vmlan_vz_stop(vm, force || asked ? 1 : 0, err, err.length);
    asked = true;
  };
  const timer = setInterval(() => {
    const code = exitCodeOf(lib.vmlan_vz_state(vm));
    if (code === null) return;
    clearInterval(timer);
    over = true;
    lib.vmlan_vz_free(vm);
    release();
    resolveExit(code);
  }, STATE_POLL_MS);
  return { pid: process.pid, exited, stop, ...con.extra };
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
  /** macOS major version (nicAttachment needs 26+); default 0: always a helper. */
  major?: number;
  /** The vmnet_network_ref of `network` when this process holds it (macOS 26), else null. */
  ownedNetwork?: (network: string) => number | null;
  /** Drops this process's hold on `network`, so that a detached VM's host process can take it. */
  releaseNetwork?: (network: string) => void;
  /** Tests: a fake shim and a fake spawn. */
  lib?: () => VzLib;
  spawn?: Spawn;
}

/** `self`: the argv that runs this vmlan again (for `vmlan helper` and `vmlan vm _vz-host`). */
export function createVzBackend(self: string[], o: VzBackendOptions = {}): VmBackend {
  const lib = o.lib ?? vz;
  return {
    accel: (): Accel => ({ accel: "vz", reason: "Virtualization.framework (Hypervisor.framework underneath)" }),
    openNic: async (n) => {
      // A detached VM runs in its host process: that process opens the NIC (and holds the helper).
      if (n.detach) return { kind: "dgram", fd: -1, ifname: "", deferred: { network: n.network, id: n.id }, close: () => {} } satisfies VzNicPort;
      const pick = nicAttachment({ major: o.major ?? 0, held: o.ownedNetwork?.(n.network) ?? null });
      if (pick.kind === "vmnet") return { kind: "dgram", fd: -1, ifname: `vmnet:${n.network}`, network: pick.network, close: () => {} } satisfies VzNicPort;
      return openHelperNic({ self, network: n.network, id: n.id });
    },
    start: async (cfg) => (cfg.pidfile ? startDetached(cfg, { self, spawn: o.spawn, releaseNetwork: o.releaseNetwork }) : startInProcess(cfg, lib())),
    ensureInstalled: () => {
      try {
        if (lib().vmlan_vz_supported() === 1) return;
      } catch (e) {
        throw new HostError(`the Virtualization.framework shim did not load: ${(e as Error).message} (scripts/verify-macos.sh builds it)`, { cause: e });
      }
      throw new HostError("this Mac cannot run virtual machines (VZVirtualMachine.isSupported is false)");
    },
    alive,
  };
}
