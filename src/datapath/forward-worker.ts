/**
 * Worker entry: one forwarding direction with blocking FFI calls (native-facts D.1e: a Worker blocked
 * in FFI leaves the main thread responsive). Listed in scripts/build.ts ENTRY_POINTS so the compiled
 * binary carries it. Receives one WorkerInit message, runs forward() to its end, posts WorkerDone.
 */
import { FrameBatch, type Port } from "./port.ts";
import { Counters, type Direction } from "./stats.ts";
import { DgramPort } from "./unix-dgram.ts";
import { FrameFdPort } from "./frame-fd.ts";
import { BATCH_SIZE, forward, ValidatingPort, type StopReason } from "./forward.ts";

export type PortKind = "dgram" | "frame-fd";

export interface WorkerInit {
  direction: Direction;
  src: { kind: PortKind; fd: number };
  dst: { kind: PortKind; fd: number };
  maxPacketSize: number;
  batchSize?: number;
  stats: SharedArrayBuffer;
  control: SharedArrayBuffer;
}

export type WorkerDone = { direction: Direction; reason: StopReason } | { direction: Direction; reason: "error"; message: string };

declare const self: Worker;

function makePort(p: { kind: PortKind; fd: number }, batch: FrameBatch): Port {
  return p.kind === "dgram" ? new DgramPort(p.fd, batch) : new FrameFdPort(p.fd);
}

self.onmessage = (ev: MessageEvent<WorkerInit>) => {
  const init = ev.data;
  let done: WorkerDone;
  try {
    // One slot per frame, one byte larger than the largest valid frame so oversized ones show.
    const slot = Math.ceil((init.maxPacketSize + 1) / 64) * 64;
    const batch = new FrameBatch(init.batchSize ?? BATCH_SIZE, slot);
    const counters = new Counters(init.stats, init.direction);
    const src = new ValidatingPort(makePort(init.src, batch), init.maxPacketSize, counters);
    const dst = makePort(init.dst, batch);
    const reason = forward({ src, dst, batch, counters, control: new Int32Array(init.control) });
    done = { direction: init.direction, reason };
  } catch (e) {
    done = { direction: init.direction, reason: "error", message: (e as Error).message };
  }
  self.postMessage(done);
};
