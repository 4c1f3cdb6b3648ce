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

/** vmnet's vmnet_max_packet_size with TSO (vmnet-helper's docs/integration.md: 64 KiB frames). */
export const TSO_MAX_PACKET_SIZE = 65550;
/** Frames per batch when frames may be 64 KiB (vmnet-helper allocates 16 then, against 128). */
export const TSO_BATCH_SIZE = 16;

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
