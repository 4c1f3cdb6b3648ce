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
import { StreamPort } from "./stream-port.ts";
import { pumpStreamToTap } from "./stream-ingress.ts";
import { toHostStep, toVmStep, type OffloadMode } from "./offload/steps.ts";
import { VNET_HDR_LEN, VNET_HEADROOM } from "./offload/vnet-header.ts";

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
}

/** How a worker ended; "malformed": a stream client broke the framing (the message says how). */
export type WorkerDone = { direction: Direction; reason: StopReason } | { direction: Direction; reason: "error" | "malformed"; message: string };
/** Posted before WorkerDone, at most once: the source MAC of the first valid frame from a stream client. */
export type WorkerEvent = { event: "mac"; mac: string };

declare const self: Worker;
declare const VMLAN_TARGET: string | undefined;

async function makePort(p: PortDesc, batch: FrameBatch, control: Int32Array): Promise<Port> {
  if (p.kind === "dgram") return new DgramPort(p.fd, batch);
  if (p.kind === "stream") return new StreamPort(p.fd, batch, control);
  if (p.kind === "frame-fd") return new FrameFdPort(p.fd, undefined, p.offload ? VNET_HDR_LEN : 0);
  // vmnet exists on macOS; from source (tests) also on Linux against the vmnet double. In a compiled
  // Linux binary both compares are constants (VMLAN_TARGET is defined), so no darwin code is bundled.
  if (process.platform === "darwin" || typeof VMLAN_TARGET === "undefined") {
    if (!p.vmnet) throw new Error("a vmnet port needs its interface numbers");
    const { VmnetPort, vmnetTarget } = await import("../platform/darwin/vmnet-port.ts");
    return new VmnetPort(vmnetTarget(p.vmnet, p.fd), batch.size);
  }
  throw new Error("vmnet ports exist only on macOS");
}

self.onmessage = async (ev: MessageEvent<WorkerInit>) => {
  const init = ev.data;
  let done: WorkerDone;
  try {
    const counters = new Counters(init.stats, init.direction);
    const control = new Int32Array(init.control);
    if (init.src.kind === "stream") {
      if (init.dst.kind !== "frame-fd") throw new Error("a stream client forwards to a frame fd (TAP) only");
      // A stream is cut into frames in place and written to the TAP from there (stream-ingress.ts).
      const onMac = (mac: string) => self.postMessage({ event: "mac", mac } satisfies WorkerEvent);
      done = { direction: init.direction, ...pumpStreamToTap({ sock: init.src.fd, tap: init.dst.fd, maxPacketSize: init.maxPacketSize, counters, control, onMac }) };
    } else {
      // One slot per frame, one byte larger than the largest valid frame so oversized ones show; an
      // offload TAP's header goes in front of each slot.
      const slot = Math.ceil((init.maxPacketSize + 1) / 64) * 64;
      const offload = init.src.offload ?? init.dst.offload;
      const batch = new FrameBatch(init.batchSize ?? BATCH_SIZE, slot, offload ? VNET_HEADROOM : 0);
      const step = init.src.offload ? toVmStep() : init.dst.offload ? toHostStep(init.dst.offload.mtu) : undefined;
      const src = new ValidatingPort(await makePort(init.src, batch, control), init.maxPacketSize, counters, step);
      const dst = await makePort(init.dst, batch, control);
      done = { direction: init.direction, reason: forward({ src, dst, batch, counters, control }) };
    }
  } catch (e) {
    done = { direction: init.direction, reason: "error", message: (e as Error).message };
  }
  self.postMessage(done);
};
