/**
 * A frame from an offload TAP on its way to the VM, which gets whole frames (up to 64 KiB with TSO)
 * with every checksum complete and never checks them against a header (krunkit hands them to the
 * guest with an all-zero virtio-net header): VIRTIO_NET_HDR_F_NEEDS_CSUM is finished here, a frame
 * the kernel already verified (DATA_VALID) passes, and one with no verdict (from a port without
 * offloads) has its IPv4 header and TCP/UDP checksums verified; a bad one is dropped, as vmnet drops
 * packets that fail its checks. Pure: works on the batch's buffer.
 */
import { VIRTIO_NET_HDR_F_DATA_VALID, VIRTIO_NET_HDR_F_NEEDS_CSUM } from "../../../ffi/libc/constants.ts";
import { be16, complement, putBe16, sumBytes, verifies } from "./checksum.ts";
import { BAD, ETHERTYPE_IPV4, FrameHeaders, L4, PROTO_UDP, parseFrame } from "./headers.ts";
import { HDR_CSUM_OFFSET, HDR_CSUM_START, HDR_FLAGS, type FrameBuffer } from "./vnet-header.ts";

const UDP_CHECK = 6;

/** Finishes or checks the frame at f0 (`len` bytes, its header before it). false: drop it. */
export function finishForVm(b: FrameBuffer, f0: number, len: number, h: FrameHeaders): boolean {
  const { bytes, words } = b;
  const r = parseFrame(bytes, words, f0, len, h);
  if (r === BAD) return false;
  if (h.type === ETHERTYPE_IPV4) {
    const ip = f0 + h.l3;
    if (!verifies(sumBytes(bytes, words, ip, ip + (bytes[ip]! & 15) * 4))) return false;
  }
  const flags = bytes[f0 + HDR_FLAGS]!;
  if (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
    const start = b.view.getUint16(f0 + HDR_CSUM_START, true);
    const field = start + b.view.getUint16(f0 + HDR_CSUM_OFFSET, true);
    if (field + 2 > len) return false;
    let c = complement(sumBytes(bytes, words, f0 + start, f0 + len)); // the field holds the pseudo-header sum
    if (c === 0 && field - start === UDP_CHECK) c = 0xffff; // UDP sends a zero sum as all ones (RFC 768)
    putBe16(bytes, f0 + field, c);
    return true;
  }
  if (flags & VIRTIO_NET_HDR_F_DATA_VALID || r !== L4) return true;
  if (h.proto === PROTO_UDP && !h.v6 && be16(bytes, f0 + h.l4 + UDP_CHECK) === 0) return true; // IPv4 UDP without a checksum
  return verifies(h.pseudo + sumBytes(bytes, words, f0 + h.l4, f0 + h.end));
}
