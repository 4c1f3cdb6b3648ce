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
  /** One view per slot, on the shared buffer. */
  readonly slots: Uint8Array[];
  /** Length of the frame in each slot after recv(); send() reads it. */
  readonly lens: Int32Array;
  /** Native address of slot 0; slot i is at base + i * slotSize. */
  readonly base: number;

  constructor(size: number, slotSize: number) {
    this.size = size;
    this.slotSize = slotSize;
    const ab = new ArrayBuffer(size * slotSize);
    this.slots = Array.from({ length: size }, (_, i) => new Uint8Array(ab, i * slotSize, slotSize));
    this.lens = new Int32Array(size);
    this.base = ptr(ab);
  }

  slotPtr(i: number): Pointer {
    return (this.base + i * this.slotSize) as Pointer;
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
