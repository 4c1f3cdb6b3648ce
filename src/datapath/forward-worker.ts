/**
 * Worker entry: one forwarding direction with blocking FFI calls (native-facts D.1e: a Worker blocked
 * in FFI leaves the main thread responsive). Listed in scripts/build.ts ENTRY_POINTS so the compiled
 * binary carries it. Receives one WorkerInit message, runs forward() to its end, posts WorkerDone.
 */
import { Counters, type Direction } from "./stats.ts";
import { forward, forwardPair, type ForwardOptions, type StopReason } from "./forward.ts";
import { PairPoller } from "./poll.ts";
import { pumpStreamToTap } from "./stream-ingress.ts";
import { leg } from "./legs.ts";
import type { OffloadMode } from "./offload/steps.ts";

/** "stream": a unix stream socket with QEMU's length-prefixed framing (`vmlan switch` clients). */
export type PortKind = "dgram" | "frame-fd" | "vmnet" | "stream";

/**
 * A vmnet interface started by the main thread (platform/darwin), as plain numbers: the interface_ref,
 * its limits and MAC. The port's fd is the interface's event pipe (polled before vmnet_read).
 */
export interface VmnetDesc { ref: number; mac: string; maxPacketSize: number; readMaxPackets: number; writeMaxPackets: number }

/**
 * `offload` (a frame fd only): an offload TAP, whose frames carry a virtio-net header and may need
 * their checksums finished (datapath/offload/); `mtu` is the network's, what TSO segments are cut to.
 */
export interface PortDesc { kind: PortKind; fd: number; vmnet?: VmnetDesc; offload?: { mode: OffloadMode; mtu: number } }

export interface WorkerInit {
  direction: Direction;
  src: PortDesc;
  dst: PortDesc;
  maxPacketSize: number;
  batchSize?: number;
  stats: SharedArrayBuffer;
  control: SharedArrayBuffer;
  /** Also dst → src, in the same loop (forwardPair): one Worker for both directions; one WorkerDone per direction. */
  pair?: boolean;
}

/** How a worker ended; "malformed": a stream client broke the framing (the message says how). */
export type WorkerDone = { direction: Direction; reason: StopReason } | { direction: Direction; reason: "error" | "malformed"; message: string };
/** Posted before WorkerDone, at most once: the source MAC of the first valid frame from a stream client. */
export type WorkerEvent = { event: "mac"; mac: string };

declare const self: Worker;

const OTHER: Record<Direction, Direction> = { host_to_vm: "vm_to_host", vm_to_host: "host_to_vm" };

/** Both directions of init in one loop; posts one WorkerDone per direction. */
async function runPair(init: WorkerInit, control: Int32Array): Promise<void> {
  const directions = [init.direction, OTHER[init.direction]] as const;
  const post = (i: number, end: StopReason | Error) =>
    self.postMessage((end instanceof Error ? { direction: directions[i]!, reason: "error", message: end.message } : { direction: directions[i]!, reason: end }) satisfies WorkerDone);
  let legs: [ForwardOptions, ForwardOptions];
  try {
    legs = [await leg(init, init.src, init.dst, directions[0], control), await leg(init, init.dst, init.src, directions[1], control)];
  } catch (e) {
    for (const i of [0, 1]) post(i, e as Error);
    return;
  }
  forwardPair(legs, new PairPoller([init.src.fd, init.dst.fd]), post);
}

self.onmessage = async (ev: MessageEvent<WorkerInit>) => {
  const init = ev.data;
  if (init.pair) return runPair(init, new Int32Array(init.control));
  let done: WorkerDone;
  try {
    const control = new Int32Array(init.control);
    if (init.src.kind === "stream") {
      if (init.dst.kind !== "frame-fd") throw new Error("a stream client forwards to a frame fd (TAP) only");
      const counters = new Counters(init.stats, init.direction);
      // A stream is cut into frames in place and written to the TAP from there (stream-ingress.ts).
      const onMac = (mac: string) => self.postMessage({ event: "mac", mac } satisfies WorkerEvent);
      done = { direction: init.direction, ...pumpStreamToTap({ sock: init.src.fd, tap: init.dst.fd, maxPacketSize: init.maxPacketSize, counters, control, onMac }) };
    } else {
      done = { direction: init.direction, reason: forward(await leg(init, init.src, init.dst, init.direction, control)) };
    }
  } catch (e) {
    done = { direction: init.direction, reason: "error", message: (e as Error).message };
  }
  self.postMessage(done);
};
