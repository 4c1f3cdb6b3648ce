/**
 * The vmnet batch port (datapath/port.ts): frames between a FrameBatch and a vmnet interface.
 * Preallocated once, in one ArrayBuffer per port: an rx and a tx array of struct vmpktdesc, one iovec
 * per packet, the pktcnt int, a pollfd and a drain buffer. Every view is built before the single ptr()
 * (native-facts D.1d: reading `.buffer` later moves the store).
 * Rules followed (native-facts §A 5.2, C.1.7 — the double checks them):
 *  - read: before every call, vm_pkt_size = iov_len = slot size (>= vmnet_max_packet_size), vm_flags = 0;
 *  - write: exactly one iovec per packet, iov_len == vm_pkt_size; runt or oversized frames are dropped
 *    here (vmnet would fail the whole batch with VMNET_INVALID_ARGUMENT / VMNET_PACKET_TOO_BIG);
 *  - no retry: vmnet_write writes everything or fails ("All data will be written or the write will
 *    fail", <vmnet/vmnet.h>), and vmnet-helper's write_to_host does not retry either; a failed batch
 *    is dropped and counted, the error kept for the caller's log.
 */
import { ptr, type Pointer } from "bun:ffi";
import { libc } from "../../../ffi/libc/load.ts";
import { OS } from "../../../ffi/libc/os.ts";

const { POLLIN } = OS;
import { vmnet } from "../../../ffi/vmnet/load.ts";
import { iovec, vmpktdesc } from "../../../ffi/vmnet/structs.ts";
import { VMNET_SUCCESS } from "../../../ffi/vmnet/constants.ts";
import { UsageError } from "../../core/errors.ts";
import { CLOSED, type FrameBatch, type Port } from "../../datapath/port.ts";
import { VmnetError, type VmnetInterface } from "./vmnet-interface.ts";

/** What the port needs of an interface: a VmnetInterface, or its numbers inside a forwarding Worker. */
export type VmnetPortTarget = Pick<VmnetInterface, "macAddress" | "maxPacketSize" | "readMaxPackets" | "writeMaxPackets" | "unsafeRef" | "eventFd">;

/**
 * A target from plain numbers (datapath/forward-worker.ts): the interface was started, and is
 * stopped, by the main thread, which stops the Workers first.
 */
export function vmnetTarget(d: { ref: number; mac: string; maxPacketSize: number; readMaxPackets: number; writeMaxPackets: number }, eventFd: number): VmnetPortTarget {
  return {
    macAddress: d.mac, maxPacketSize: d.maxPacketSize, readMaxPackets: d.readMaxPackets, writeMaxPackets: d.writeMaxPackets,
    unsafeRef: d.ref as Pointer, eventFd: () => eventFd,
  };
}

/** The smallest Ethernet frame vmnet accepts: a header (the 4-byte "VFKT" handshake is not one). */
const MIN_FRAME = 14;
const DRAIN = 64;
const TWO32 = 2 ** 32;

const D = vmpktdesc.size / 4; // u32 words per descriptor (6)
const V = iovec.size / 4; // u32 words per iovec (4)

function setU64(w: Uint32Array, i: number, v: number): void {
  w[i] = v % TWO32;
  w[i + 1] = Math.floor(v / TWO32);
}

export class VmnetPort implements Port {
  readonly name: string;
  readonly size: number;
  /** Frames dropped before vmnet (bad size) or in a batch vmnet_write refused. */
  drops = 0;
  /** The last vmnet error that ended recv()/send(), for the caller's (rate-limited) log. */
  lastError: VmnetError | null = null;
  readonly #iface: VmnetPortTarget;
  readonly #ref: Pointer;
  readonly #eventFd: number;
  readonly #words: Uint32Array;
  readonly #cnt: Int32Array;
  readonly #pfd: DataView;
  readonly #drain: Uint8Array;
  readonly #base: number;
  readonly #rx: number; // byte offsets inside the buffer
  readonly #tx: number;
  readonly #cntOff: number;
  readonly #pfdOff: number;
  #rxBatch: FrameBatch | null = null;

  constructor(iface: VmnetPortTarget, size: number) {
    this.#iface = iface;
    this.name = `vmnet:${iface.macAddress}`;
    this.size = Math.min(size, iface.readMaxPackets, iface.writeMaxPackets);
    const n = this.size;
    const half = n * (vmpktdesc.size + iovec.size);
    this.#rx = 0;
    this.#tx = half;
    this.#cntOff = 2 * half;
    this.#pfdOff = this.#cntOff + 8;
    const ab = new ArrayBuffer(this.#pfdOff + 8 + DRAIN);
    this.#words = new Uint32Array(ab, 0, (2 * half) / 4);
    this.#cnt = new Int32Array(ab, this.#cntOff, 1);
    this.#pfd = new DataView(ab, this.#pfdOff, 8);
    this.#drain = new Uint8Array(ab, this.#pfdOff + 8, DRAIN);
    this.#base = ptr(ab);
    this.#ref = iface.unsafeRef;
    this.#eventFd = iface.eventFd();
    // Each descriptor points at its own iovec once and for all; iovcnt is always 1.
    for (const region of [this.#rx, this.#tx]) {
      for (let i = 0; i < n; i++) {
        const d = (region + i * vmpktdesc.size) / 4;
        setU64(this.#words, d + 2, this.#base + region + n * vmpktdesc.size + i * iovec.size);
        this.#words[d + 4] = 1;
      }
    }
  }

  /** The Port interface's retry count: vmnet writes are never retried (see above). */
  readonly retries = 0;

  #iov(region: number, i: number): number {
    return (region + this.size * vmpktdesc.size) / 4 + i * V;
  }

  #read(batch: FrameBatch): number {
    const n = Math.min(batch.size, this.size);
    const w = this.#words;
    if (this.#rxBatch !== batch) {
      if (batch.slotSize < this.#iface.maxPacketSize) {
        throw new UsageError(`vmnet needs ${this.#iface.maxPacketSize}-byte read buffers; the batch has ${batch.slotSize}`);
      }
      for (let i = 0; i < n; i++) setU64(w, this.#iov(this.#rx, i), batch.slotPtr(i));
      this.#rxBatch = batch;
    }
    for (let i = 0; i < n; i++) {
      const d = i * D;
      setU64(w, d, batch.slotSize); // vm_pkt_size: capacity in, length out
      w[d + 4] = 1;
      w[d + 5] = 0; // vm_flags
      setU64(w, this.#iov(this.#rx, i) + 2, batch.slotSize); // iov_len
    }
    this.#cnt[0] = n;
    const st = vmnet().vmnet_read(this.#ref, (this.#base + this.#rx) as Pointer, (this.#base + this.#cntOff) as Pointer);
    if (st !== VMNET_SUCCESS) {
      this.lastError = new VmnetError("vmnet_read", st);
      return CLOSED;
    }
    const got = this.#cnt[0]!;
    for (let i = 0; i < got; i++) batch.lens[i] = w[i * D]!; // frames are < 4 GiB: the low word is the length
    return got;
  }

  #drainEvents(): void {
    const c = libc();
    while (c.read(this.#eventFd, this.#drain, DRAIN) === DRAIN) { /* a full read may mean more bytes */ }
  }

  recv(batch: FrameBatch, waitMs: number): number {
    // Drain before reading: an event that arrives after our read leaves a byte, so poll() wakes.
    this.#drainEvents();
    const n = this.#read(batch);
    if (n !== 0 || waitMs <= 0) return n;
    const p = this.#pfd;
    p.setInt32(0, this.#eventFd, true);
    p.setInt16(4, POLLIN, true);
    p.setInt16(6, 0, true);
    if (libc().poll((this.#base + this.#pfdOff) as Pointer, 1, waitMs) <= 0) return 0;
    this.#drainEvents();
    return this.#read(batch);
  }

  send(batch: FrameBatch, count: number): number {
    const w = this.#words;
    const max = this.#iface.maxPacketSize;
    let n = 0;
    let i = 0;
    for (; i < count && n < this.size; i++) {
      const len = batch.lens[i]!;
      if (len < MIN_FRAME || len > max) {
        this.drops++;
        continue;
      }
      const d = (this.#tx / 4) + n * D;
      setU64(w, d, len);
      w[d + 4] = 1;
      w[d + 5] = 0;
      const v = this.#iov(this.#tx, n);
      setU64(w, v, batch.slotPtr(i));
      setU64(w, v + 2, len); // iov_len == vm_pkt_size
      n++;
    }
    this.drops += count - i; // more frames than descriptors: the batch was larger than this port
    if (n === 0) return 0;
    this.#cnt[0] = n;
    const st = vmnet().vmnet_write(this.#ref, (this.#base + this.#tx) as Pointer, (this.#base + this.#cntOff) as Pointer);
    let sent = 0;
    if (st === VMNET_SUCCESS) sent = Math.min(this.#cnt[0]!, n);
    else this.lastError = new VmnetError("vmnet_write", st);
    this.drops += n - sent;
    return sent;
  }
}
