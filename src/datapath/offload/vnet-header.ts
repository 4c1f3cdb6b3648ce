/**
 * The virtio-net header in front of each frame on an offload TAP (IFF_VNET_HDR; struct virtio_net_hdr,
 * declared as data in ffi/libc/structs.ts), as offsets into a FrameBatch's headroom: the header sits
 * right before the frame. Little endian on x86-64 and arm64.
 */
import { offsetOf } from "../../../ffi/layout.ts";
import { virtio_net_hdr } from "../../../ffi/libc/structs.ts";

/** Bytes of the header (10: the kernel's default TUNSETVNETHDRSZ). */
export const VNET_HDR_LEN = virtio_net_hdr.size;
/**
 * Headroom of an offload batch: the header right before the frame, placed so that an untagged frame's
 * IP header (frame + 14) and an IPv4/IPv6 TCP header after it start on 4-byte boundaries, which the
 * checksum loop reads as aligned words.
 */
export const VNET_HEADROOM = 18;

const at = (field: string) => offsetOf(virtio_net_hdr, field) - VNET_HDR_LEN;
/** Offsets from the frame's first byte (negative: inside the header). */
export const HDR_FLAGS = at("flags");
export const HDR_GSO_TYPE = at("gso_type");
export const HDR_HDR_LEN = at("hdr_len");
export const HDR_GSO_SIZE = at("gso_size");
export const HDR_CSUM_START = at("csum_start");
export const HDR_CSUM_OFFSET = at("csum_offset");

/** The buffer views the offload code works on (a FrameBatch has them). */
export interface FrameBuffer {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly words: Uint32Array;
}

/** An all-zero header (flags 0, GSO_NONE) before the frame at f0. */
export function clearHeader(b: FrameBuffer, f0: number): void {
  b.bytes.fill(0, f0 - VNET_HDR_LEN, f0);
}
