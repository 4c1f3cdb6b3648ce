/**
 * One client of the switch = one port on the network: its own TAP on the bridge (the kernel learns
 * the VM's MAC there and delivers only what is meant for it), its own two forwarding Workers (a slow
 * or paused VM holds up no one else), and its own lease. The VM picks its MAC (QEMU `mac=`), so the
 * lease is claimed when the first frame shows it, and released when the client goes, if the switch
 * made it. Everything is undone by close(), whatever ended the client.
 */
import { closeFd, type PeerCred } from "../ipc/unix-stream.ts";
import { startForwarding, type Forwarding } from "../datapath/workers.ts";
import { snapshot } from "../datapath/stats.ts";
import { FrameFdPort } from "../datapath/frame-fd.ts";
import type { HostPort } from "../datapath/helper.ts";
import type { WorkerDone } from "../datapath/forward-worker.ts";

/** The lease a client's MAC got; `owned`: made (or re-activated) for this client, released when it goes. */
export interface PortLease {
  network: string;
  id: string;
  mac: string;
  address: string;
  owned: boolean;
}

export interface PortDeps {
  /** A new port on the network for one client (a TAP on the bridge). */
  openPort(): HostPort;
  /** The lease for a MAC a client's VM uses: its existing one, or a new sticky one. */
  claim(mac: string): PortLease;
  release(lease: PortLease): void;
  /** Kernel-side protection of the port once its MAC (and lease) are known; absent until it exists. */
  protect?(port: HostPort, lease: PortLease): void;
}

export type PortEnd = { reason: "stopped" | "peer-closed" | "malformed" | "error" | "refused"; message?: string };

export class SwitchPort {
  readonly host: HostPort;
  readonly fw: Forwarding;
  mac: string | null = null;
  lease: PortLease | null = null;
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

  /** Takes the lease for the VM's MAC and protects the port with it. */
  adopt(mac: string): PortLease {
    this.mac = mac;
    const lease = this.deps.claim(mac);
    this.lease = lease;
    this.deps.protect?.(this.host, lease);
    return lease;
  }

  /** Counters so far: frames each way, and malformed frames from the VM. */
  counts(): { toHost: number; toVm: number; malformed: number; dropsToVm: number } {
    const s = snapshot(this.fw.stats);
    return { toHost: s.vm_to_host.packets, toVm: s.host_to_vm.packets, malformed: s.vm_to_host.malformed, dropsToVm: s.host_to_vm.drops };
  }

  /** Stops the workers, closes the client socket and the TAP, releases an owned lease. Idempotent. */
  close(end: PortEnd): Promise<PortEnd> {
    this.#closing ??= (async () => {
      await this.fw.stop();
      closeFd(this.fd);
      this.host.close(); // the TAP leaves the bridge with its last fd
      if (this.lease?.owned) this.deps.release(this.lease);
      return end;
    })();
    return this.#closing;
  }
}

function endOf(d: WorkerDone): PortEnd {
  if (d.reason === "error" || d.reason === "malformed") return { reason: d.reason, message: d.message };
  return { reason: d.reason };
}
