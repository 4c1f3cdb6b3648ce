/**
 * One client of the switch = one port on the network: its own TAP on the bridge (the kernel learns
 * the VM's MAC there and delivers only what is meant for it), its own two forwarding Workers (a slow
 * or paused VM holds up no one else), and the lease its VM's DHCP takes for its MAC. The VM picks the
 * MAC (QEMU `mac=`), so the port learns it from the first frame; when the client goes, the lease its
 * DHCP made is released at once (the address stays the MAC's sticky claim) instead of lingering until
 * it expires. A reservation made with `vmlan attach --mac` is the user's and stays. Everything is
 * undone by close(), whatever ended the client.
 */
import { closeFd, type PeerCred } from "../ipc/unix-stream.ts";
import { startForwarding, type Forwarding } from "../datapath/workers.ts";
import { snapshot } from "../datapath/stats.ts";
import { FrameFdPort } from "../datapath/frame-fd.ts";
import type { HostPort } from "../datapath/helper.ts";
import type { WorkerDone } from "../datapath/forward-worker.ts";

/** A lease as the switch reports it. */
export interface PortLease { network: string; id: string; mac: string; address: string | null }

export interface PortDeps {
  /** A new port on the network for one client (a TAP on the bridge). */
  openPort(): HostPort;
  /** Releases the lease the VM's DHCP made for `mac`; returns it, or null when there is none. */
  release(mac: string): PortLease | null;
  /** Kernel-side protection of the port once its MAC is known; absent until it exists. */
  protect?(port: HostPort, mac: string): void;
}

export type PortEnd = { reason: "stopped" | "peer-closed" | "malformed" | "error" | "refused"; message?: string };

export class SwitchPort {
  readonly host: HostPort;
  readonly fw: Forwarding;
  mac: string | null = null;
  /** The lease released when the client went, for the log line. */
  released: PortLease | null = null;
  /** Resolves when a worker ended on its own (the client went, broke the framing, or failed). */
  readonly ended: Promise<PortEnd>;
  #closing: Promise<PortEnd> | null = null;

  constructor(
    readonly id: number,
    readonly fd: number,
    readonly cred: PeerCred | null,
    readonly deps: PortDeps,
    maxPacketSize: number,
    onMac: (port: SwitchPort, mac: string) => void,
  ) {
    this.host = deps.openPort();
    try {
      FrameFdPort.setNonBlocking(this.host.fd); // the TAP reader polls so it can see the stop flag
      this.fw = startForwarding({
        vm: { fd, kind: "stream" }, host: { fd: this.host.fd, kind: "frame-fd" }, maxPacketSize,
        onEvent: (e) => onMac(this, e.mac),
      });
    } catch (e) {
      this.host.close();
      throw e;
    }
    this.ended = this.fw.firstDone.then(endOf);
  }

  get who(): string {
    const c = this.cred;
    return c ? `client ${this.id} (pid ${c.pid}, uid ${c.uid})` : `client ${this.id}`;
  }

  /** The VM's MAC, seen in its first frame: the port is protected with it. */
  learn(mac: string): void {
    this.mac = mac;
    this.deps.protect?.(this.host, mac);
  }

  /** Counters so far: frames each way, and malformed frames from the VM. */
  counts(): { toHost: number; toVm: number; malformed: number; dropsToVm: number } {
    const s = snapshot(this.fw.stats);
    return { toHost: s.vm_to_host.packets, toVm: s.host_to_vm.packets, malformed: s.vm_to_host.malformed, dropsToVm: s.host_to_vm.drops };
  }

  /** Stops the workers, closes the client socket and the TAP, releases the VM's DHCP lease. Idempotent. */
  close(end: PortEnd): Promise<PortEnd> {
    this.#closing ??= (async () => {
      await this.fw.stop();
      closeFd(this.fd);
      this.host.close(); // the TAP leaves the bridge with its last fd
      if (this.mac) this.released = this.deps.release(this.mac);
      return end;
    })();
    return this.#closing;
  }
}

function endOf(d: WorkerDone): PortEnd {
  if (d.reason === "error" || d.reason === "malformed") return { reason: d.reason, message: d.message };
  return { reason: d.reason };
}
