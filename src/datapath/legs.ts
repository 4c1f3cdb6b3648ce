/**
 * One forwarding direction's ports, batch and counters, as forward() and PairForwarder take them,
 * built from plain descriptions: in a forwarding Worker (forward-worker.ts) or on the helper's main
 * thread (forward-inline.ts).
 */
import { FrameBatch, type Port } from "./port.ts";
import { Counters, type Direction } from "./stats.ts";
import { DgramPort } from "./unix-dgram.ts";
import { FrameFdPort } from "./frame-fd.ts";
import { ValidatingPort, type ForwardOptions } from "./forward.ts";
import { BATCH_SIZE } from "./sizes.ts";
import { StreamPort } from "./stream-port.ts";
import { toHostStep, toVmStep } from "./offload/steps.ts";
import { VNET_HDR_LEN, VNET_HEADROOM } from "./offload/vnet-header.ts";
import type { PortDesc, WorkerInit } from "./forward-worker.ts";

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

/** One direction's ports, batch and counters, as forward() takes them. */
export async function leg(init: Pick<WorkerInit, "stats" | "maxPacketSize" | "batchSize">, from: PortDesc, to: PortDesc, direction: Direction, control: Int32Array): Promise<ForwardOptions> {
  const counters = new Counters(init.stats, direction);
  // One slot per frame, one byte larger than the largest valid frame so oversized ones show; an
  // offload TAP's header goes in front of each slot.
  const slot = Math.ceil((init.maxPacketSize + 1) / 64) * 64;
  const offload = from.offload ?? to.offload;
  const batch = new FrameBatch(init.batchSize ?? BATCH_SIZE, slot, offload ? VNET_HEADROOM : 0);
  const step = from.offload ? toVmStep() : to.offload ? toHostStep(to.offload.mtu) : undefined;
  const src = new ValidatingPort(await makePort(from, batch, control), init.maxPacketSize, counters, step);
  return { src, dst: await makePort(to, batch, control), batch, counters, control };
}

