/**
 * The offload rules as the forwarding loop's per-frame steps (forward.ts FrameStep), one per
 * direction of an offload TAP, each with its own preallocated FrameHeaders (a Worker runs one).
 */
import type { FrameStep } from "../forward.ts";
import { FrameHeaders } from "./headers.ts";
import { prepareForHost } from "./to-host.ts";
import { finishForVm } from "./to-vm.ts";

/** What an offload port does: unfinished checksums only, or also 64 KiB TSO segments. */
export type OffloadMode = "checksum" | "tso";

/** VM socket → offload TAP: a virtio-net header for each frame (`mtu`: the network's). */
export function toHostStep(mtu: number): FrameStep {
  const h = new FrameHeaders();
  return (b, off, len) => prepareForHost(b, off, len, mtu, h);
}

/** Offload TAP → VM socket: checksums finished or verified. */
export function toVmStep(): FrameStep {
  const h = new FrameHeaders();
  return (b, off, len) => (finishForVm(b, off, len, h) ? len : -1);
}
