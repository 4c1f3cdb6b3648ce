/**
 * A frame from the VM on its way to an offload TAP (vmnet-helper's --enable-checksum-offload and
 * --enable-tso, as vmnet does them: "on output, checksums are computed as necessary"): the IPv4
 * header checksum is recomputed, TCP and UDP checksums are left to the kernel
 * (VIRTIO_NET_HDR_F_NEEDS_CSUM, the field set to the pseudo-header sum), and a frame larger than the
 * MTU goes as one GSO packet cut to the MTU (TSO; for IPv4 UDP, IP fragments). Fragments and other
 * protocols pass as they are; a frame the kernel could not send (over the MTU and not TCP/UDP) or
 * whose lengths do not add up is dropped. Pure: works on the batch's buffer.
 */
import {
  VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_ECN, VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_TCPV6, VIRTIO_NET_HDR_GSO_UDP,
} from "../../../ffi/libc/constants.ts";
import { complement, fold, putBe16, sumBytes } from "./checksum.ts";
import { BAD, ETHERTYPE_IPV4, ETHERTYPE_IPV6, FrameHeaders, PASS, PROTO_TCP, parseFrame } from "./headers.ts";
import {
  HDR_CSUM_OFFSET, HDR_CSUM_START, HDR_FLAGS, HDR_GSO_SIZE, HDR_GSO_TYPE, HDR_HDR_LEN, clearHeader, type FrameBuffer,
} from "./vnet-header.ts";

/** TCP's checksum field is 16 bytes into its header, UDP's 6. */
const TCP_CHECK = 16;
const UDP_CHECK = 6;
/** TCP flags byte: CWR. */
const TCP_CWR = 0x80;

/** Recomputes an IPv4 header's checksum (header at absolute offset ip). */
export function setIpv4HeaderChecksum(b: FrameBuffer, ip: number): void {
  const ihl = (b.bytes[ip]! & 15) * 4;
  putBe16(b.bytes, ip + 10, 0);
  putBe16(b.bytes, ip + 10, complement(sumBytes(b.bytes, b.words, ip, ip + ihl)));
}

/**
 * Fills the virtio-net header before the frame at f0 (`len` bytes) for an MTU of `mtu`. Returns the
 * frame length to write (an IP packet without its Ethernet padding), or -1 to drop it.
 */
export function prepareForHost(b: FrameBuffer, f0: number, len: number, mtu: number, h: FrameHeaders): number {
  clearHeader(b, f0);
  const r = parseFrame(b.bytes, b.words, f0, len, h);
  if (r === BAD) return -1;
  if (h.type !== ETHERTYPE_IPV4 && h.type !== ETHERTYPE_IPV6) return len > h.l3 + mtu ? -1 : len;
  if (!h.v6) setIpv4HeaderChecksum(b, f0 + h.l3);
  const ipLen = h.end - h.l3;
  if (r === PASS) return ipLen > mtu ? -1 : h.end;
  const tcp = h.proto === PROTO_TCP;
  const check = tcp ? TCP_CHECK : UDP_CHECK;
  const v = b.view;
  putBe16(b.bytes, f0 + h.l4 + check, fold(h.pseudo));
  b.bytes[f0 + HDR_FLAGS] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  v.setUint16(f0 + HDR_CSUM_START, h.l4, true);
  v.setUint16(f0 + HDR_CSUM_OFFSET, check, true);
  if (ipLen <= mtu) return h.end;
  const headers = h.l4 - h.l3 + h.l4hdr;
  if (headers + 8 > mtu) return -1;
  if (tcp) {
    const ecn = b.bytes[f0 + h.l4 + 13]! & TCP_CWR ? VIRTIO_NET_HDR_GSO_ECN : 0;
    b.bytes[f0 + HDR_GSO_TYPE] = (h.v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4) | ecn;
    v.setUint16(f0 + HDR_GSO_SIZE, mtu - headers, true);
  } else {
    if (h.v6) return -1; // IPv6 UFO needs a fragment id the kernel does not pick for a TAP
    b.bytes[f0 + HDR_GSO_TYPE] = VIRTIO_NET_HDR_GSO_UDP;
    v.setUint16(f0 + HDR_GSO_SIZE, (mtu - (h.l4 - h.l3)) & ~7, true); // fragments carry multiples of 8 bytes
  }
  v.setUint16(f0 + HDR_HDR_LEN, h.l3 + headers, true);
  return h.end;
}
