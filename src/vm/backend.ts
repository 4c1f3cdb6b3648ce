/**
 * What src/vm/launch.ts needs from the host: a hypervisor and a way to plug a NIC into a network.
 * platform/linux/qemu.ts implements it with QEMU and TAPs; the command that runs a VM composes it.
 */
import type { PortGuard, PortIdentity } from "../platform/types.ts";
export interface NicPort {
  /** "tap": a TAP fd (native); "dgram": a unix datagram socket served by `vmlan helper`. */
  readonly kind: "tap" | "dgram";
  /** The fd the hypervisor inherits. */
  readonly fd: number;
  /** Host-side interface name. */
  readonly ifname: string;
  /** Closes vmlan's copies of the fds (the hypervisor keeps its own). */
  close(): void;
  /** tap only: the port's anti-spoofing rules (null with allowSpoofing). */
  readonly guard?: PortGuard | null;
  /** dgram only: the helper process that forwards this NIC's frames. */
  readonly helperPid?: number;
  readonly helperExited?: Promise<number>;
  /** dgram only: the MTU the helper's host side reports (vmnet_mtu of its start line). */
  readonly mtu?: number;
}

export type Attachment = "native" | "helper";

/** kvm/tcg: QEMU on Linux; vz: Virtualization.framework on macOS. */
export interface Accel { accel: "kvm" | "tcg" | "vz"; reason: string; fix?: string }

export type ConsoleMode =
  | { kind: "stdio"; stdio: "inherit" | "pipe" }
  | { kind: "file"; path: string };

export interface HypervisorConfig {
  name: string;
  accel: Accel["accel"];
  cpus: number;
  memoryMb: number;
  kernel: string;
  initrd?: string;
  append: string;
  disk?: string;
  nics: { mac: string; port: NicPort }[];
  console: ConsoleMode;
  /** Detach: the hypervisor daemonizes and writes its pid here. */
  pidfile?: string;
}

export interface VmProcess {
  readonly pid: number;
  /** Foreground only: resolves with the exit code. */
  readonly exited?: Promise<number>;
  readonly stdin?: { write(data: string): unknown; flush?(): unknown };
  readonly stdout?: ReadableStream<Uint8Array>;
  /** Piped console only: the hypervisor's own messages, kept for error reports instead of the terminal. */
  readonly stderr?: ReadableStream<Uint8Array>;
  /**
   * A VM that runs inside this process (Virtualization.framework in the foreground), which no signal
   * to `pid` could stop: the first call asks the guest to stop (ACPI), a later one or `force` stops it
   * at once. Absent for QEMU, which is stopped by signalling `pid`.
   */
  readonly stop?: (force?: boolean) => void;
}

export interface VmBackend {
  accel(): Accel;
  /** A NIC on a network: a TAP on its bridge (native) or a helper-served socket (helper). */
  /** `detach`: for a detached VM (a backend whose VMs live in a host process of their own may defer the NIC to it). */
  openNic(o: { network: string; bridge: string; id: string; attachment: Attachment; detach?: boolean; identity?: PortIdentity }): Promise<NicPort>;
  /** Throws when the hypervisor cannot start at all (e.g. QEMU missing); called before anything is allocated. */
  preflight?(): void;
  /** Starts the hypervisor; with `pidfile` returns once it has daemonized. */
  start(cfg: HypervisorConfig): Promise<VmProcess>;
  /** Installs the hypervisor when it is missing and this host can (`vmlan demo` on a fresh machine); throws otherwise. */
  ensureInstalled(log: (msg: string) => void): void;
  /** True when `pid` is a live hypervisor process (not a reused pid). */
  alive(pid: number): boolean;
}

/** One line of `vmlan doctor`. */
export interface DoctorCheck {
  check: string;
  status: "ok" | "warn" | "fail";
  detail: string;
  fix?: string;
}
