/**
 * The batch port: what the forwarding loop (forward.ts) moves frames between. A port knows one kind of
 * file descriptor (a unix datagram socket toward the VM, a TAP toward the host); the loop knows no
 * platform. Frames live in a FrameBatch: one ArrayBuffer per direction, allocated once, with every view
 * built before the one ptr() is taken (native-facts D.1d: reading `.buffer` later would move the store
 * and leave the pointer stale). Nothing on the hot path allocates.
 */
import { ptr, type Pointer } from "bun:ffi";

/** recv() result when the other end is gone (peer closed, device vanished): the loop stops normally. */
export const CLOSED = -1;

export class FrameBatch {
  /** Frames per batch (recvmmsg/sendmmsg vlen, TAP reads per wakeup). */
  readonly size: number;
  /** Bytes per slot: the largest frame accepted plus one, so an oversized one is seen (and dropped). */
  readonly slotSize: number;
  /**
   * Bytes in front of each slot for a port's own header (the virtio-net header of an offload TAP,
   * datapath/offload/); 0 otherwise. Slot i's frame starts at frameOffset(i).
   */
  readonly headroom: number;
  /** Distance between slots: headroom + slotSize, rounded up to 64. */
  readonly stride: number;
  /** One view per slot (its frame bytes), on the shared buffer. */
  readonly slots: Uint8Array[];
  /** The whole buffer, for code that works on absolute offsets (datapath/offload/). */
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** 32-bit words of the buffer (the checksum loop reads aligned words). */
  readonly words: Uint32Array;
  /** Length of the frame in each slot after recv(); send() reads it. */
  readonly lens: Int32Array;
  /** Native address of the buffer; slot i's frame is at base + frameOffset(i). */
  readonly base: number;

  constructor(size: number, slotSize: number, headroom = 0) {
    this.size = size;
    this.slotSize = slotSize;
    this.headroom = headroom;
    this.stride = Math.ceil((headroom + slotSize) / 64) * 64;
    const ab = new ArrayBuffer(size * this.stride);
    this.slots = Array.from({ length: size }, (_, i) => new Uint8Array(ab, i * this.stride + headroom, slotSize));
    this.bytes = new Uint8Array(ab);
    this.view = new DataView(ab);
    this.words = new Uint32Array(ab);
    this.lens = new Int32Array(size);
    this.base = ptr(ab);
  }

  /** Offset of slot i's frame in the buffer. */
  frameOffset(i: number): number {
    return i * this.stride + this.headroom;
  }

  slotPtr(i: number): Pointer {
    return (this.base + i * this.stride + this.headroom) as Pointer;
  }

  /** Moves slot `from`'s frame (`len` bytes) and its headroom to slot `to`. */
  move(from: number, to: number, len: number): void {
    const s = from * this.stride;
    this.bytes.copyWithin(to * this.stride, s, s + this.headroom + len);
  }
}

export interface Port {
  readonly name: string;
  /**
   * Receives up to batch.size frames into slots 0..n-1 (lengths in batch.lens). Waits at most
   * `waitMs` when nothing is queued. Returns n, 0 when nothing arrived in time, or CLOSED.
   */
  recv(batch: FrameBatch, waitMs: number): number;
  /** Sends frames 0..count-1. Returns how many were delivered (the rest are drops), or CLOSED. */
  send(batch: FrameBatch, count: number): number;
  /** Retries spent on a full peer (ENOBUFS/EAGAIN), cumulative. */
  readonly retries: number;
}
