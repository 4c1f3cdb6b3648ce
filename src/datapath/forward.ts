/**
 * The forwarding loop: one direction, two ports, one preallocated FrameBatch, counters in shared memory.
 * It runs inside a Worker (forward-worker.ts) and blocks in FFI calls; it wakes at least every
 * POLL_MS to look at the stop flag, so SIGTERM is honoured within that time. No platform code here.
 */
import type { Counters } from "./stats.ts";
import { CLOSED, type FrameBatch, type Port } from "./port.ts";

/** Longest a worker sleeps in poll() before it checks the stop flag again. */
export const POLL_MS = 200;
/** Frames per recvmmsg/sendmmsg call (vmnet-helper uses 128; 64 keeps a batch of 1514 B frames under 100 KB). */
export const BATCH_SIZE = 64;
/** An Ethernet header: destination MAC, source MAC, EtherType. */
export const ETH_HEADER = 14;

export type StopReason = "stopped" | "peer-closed";

/**
 * Per frame, after the length checks: the frame's new length, or -1 to drop it as malformed (the
 * offload rules, datapath/offload/, finish or check checksums here). Gets the frame's offset in the
 * batch buffer.
 */
export type FrameStep = (batch: FrameBatch, offset: number, len: number) => number;

/**
 * Wraps a port and drops malformed frames as they arrive: zero-length, shorter than an Ethernet
 * header, larger than the maximum packet size, or refused by `step`. The batch is compacted in
 * place; the copy only happens after a bad frame, so well-formed traffic costs one comparison per
 * frame (plus the step's own work).
 */
export class ValidatingPort implements Port {
  constructor(readonly inner: Port, readonly maxPacket: number, readonly counters: Counters, readonly step?: FrameStep) {}
  get name() { return this.inner.name; }
  get retries() { return this.inner.retries; }

  recv(batch: FrameBatch, waitMs: number): number {
    const n = this.inner.recv(batch, waitMs);
    if (n <= 0) return n;
    const step = this.step;
    let kept = 0;
    for (let i = 0; i < n; i++) {
      let len = batch.lens[i]!;
      if (len < ETH_HEADER || len > this.maxPacket) continue;
      if (step && (len = step(batch, batch.frameOffset(i), len)) < 0) continue;
      if (kept !== i) batch.move(i, kept, len); // with the headroom: a step may have written a header there
      batch.lens[kept] = len;
      kept++;
    }
    if (kept !== n) this.counters.add("malformed", n - kept);
    return kept;
  }

  send(batch: FrameBatch, count: number): number {
    return this.inner.send(batch, count);
  }
}

export interface ForwardOptions {
  src: Port;
  dst: Port;
  batch: FrameBatch;
  counters: Counters;
  /** Non-zero element 0 = stop (set by the main thread with Atomics.store). */
  control: Int32Array;
}

/**
 * Moves frames src → dst until told to stop or either side is gone. Counters (vmnet-helper's): packets/bytes
 * are the valid frames dst accepted; drops are the valid frames taken from src that dst did not accept.
 */
export function forward(o: ForwardOptions): StopReason {
  const { src, dst, batch, counters, control } = o;
  const lens = batch.lens;
  let retries = dst.retries;
  while (Atomics.load(control, 0) === 0) {
    const n = src.recv(batch, POLL_MS);
    if (n === CLOSED) return "peer-closed";
    if (n === 0) continue;
    const sent = dst.send(batch, n);
    if (sent === CLOSED) return "peer-closed";
    let bytes = 0;
    for (let i = 0; i < sent; i++) bytes += lens[i]!; // a batch is sent in order: the first `sent` went out
    const r = dst.retries;
    counters.addBatch(sent, bytes, n - sent, 0, r - retries);
    retries = r;
  }
  return "stopped";
}
