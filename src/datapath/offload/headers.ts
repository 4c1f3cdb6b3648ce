/**
 * Where a frame's headers are, for the offload datapath: up to two VLAN tags (802.1Q, 802.1ad), then
 * IPv4 or IPv6 (through hop-by-hop, routing and destination options headers), then TCP or UDP. Only
 * what checksums and segmentation need; lengths are checked against the frame so no offset points
 * past it. The pseudo-header sum (RFC 768, RFC 793, RFC 8200 §8.1: with a routing header that has
 * segments left, the final destination) is returned unfolded. Pure; fills one preallocated object.
 */
import { be16, sumBytes } from "./checksum.ts";

/** TCP or UDP, checksummable: every field of FrameHeaders is set. */
export const L4 = 1;
/** Fine, but nothing to offload: not IP, a fragment, another protocol (ICMP, ESP, ...), an unknown routing header. */
export const PASS = 0;
/** Lengths that do not add up: dropped and counted. */
export const BAD = -1;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
/** 802.1Q and 802.1ad tags. This and the other helpers below are exported for no-ftl.ts. */
export const isVlanTag = (t: number) => t === 0x8100 || t === 0x88a8;
/** IPv6 headers walked to reach TCP/UDP: hop-by-hop, routing, destination options. */
export const isWalkedExtension = (nh: number) => nh === 0 || nh === 43 || nh === 60;
const IPV6_FRAGMENT = 44;

/** Offsets relative to the frame's first byte. */
export class FrameHeaders {
  /** EtherType after the VLAN tags. */
  type = 0;
  /** First byte of the IP header. */
  l3 = 0;
  /** Set for IPv4/IPv6 (PASS or L4): the end of the IP packet (the frame may carry padding after it). */
  end = 0;
  v6 = false;
  /** The IPv4 protocol or the IPv6 header after the extensions. */
  proto = 0;
  /** L4 only: the TCP/UDP header, its length, the pseudo-header sum. */
  l4 = 0;
  l4hdr = 0;
  pseudo = 0;
}

/**
 * Walks the headers of the frame at bytes[f0 .. f0 + len). Returns L4, PASS or BAD; `h` holds the
 * offsets. `words` is the same buffer's Uint32Array (for the address sums).
 */
export function parseFrame(bytes: Uint8Array, words: Uint32Array, f0: number, len: number, h: FrameHeaders): number {
  if (len < 14) return BAD;
  let off = 12;
  let type = be16(bytes, f0 + off);
  for (let tags = 0; isVlanTag(type) && tags < 2; tags++) {
    if (len < off + 6) return BAD;
    off += 4;
    type = be16(bytes, f0 + off);
  }
  off += 2;
  h.type = type;
  h.l3 = off;
  let dst: number;
  let pseudo: number;
  if (type === ETHERTYPE_IPV4) {
    if (len < off + 20 || bytes[f0 + off]! >> 4 !== 4) return BAD;
    const ihl = (bytes[f0 + off]! & 15) * 4;
    const tot = be16(bytes, f0 + off + 2);
    if (ihl < 20 || tot < ihl || off + tot > len) return BAD;
    h.v6 = false;
    h.end = off + tot;
    h.l4 = off + ihl;
    h.proto = bytes[f0 + off + 9]!;
    if (be16(bytes, f0 + off + 6) & 0x3fff) return PASS; // a fragment: more fragments, or an offset
    pseudo = sumBytes(bytes, words, f0 + off + 12, f0 + off + 20); // source and destination
  } else if (type === ETHERTYPE_IPV6) {
    if (len < off + 40 || bytes[f0 + off]! >> 4 !== 6) return BAD;
    const plen = be16(bytes, f0 + off + 4);
    if (plen === 0 || off + 40 + plen > len) return BAD; // 0: a jumbogram, which no MTU here carries
    h.v6 = true;
    h.end = off + 40 + plen;
    dst = f0 + off + 24;
    let nh = bytes[f0 + off + 6]!;
    let p = off + 40;
    while (isWalkedExtension(nh)) {
      if (p + 8 > h.end) return BAD;
      const hl = (bytes[f0 + p + 1]! + 1) * 8;
      if (p + hl > h.end) return BAD;
      if (nh === 43 && bytes[f0 + p + 3]! > 0) {
        const final = finalDestination(bytes, f0 + p);
        if (final < 0) { h.proto = nh; return PASS; }
        dst = final;
      }
      nh = bytes[f0 + p]!;
      p += hl;
    }
    h.l4 = p;
    h.proto = nh;
    if (nh === IPV6_FRAGMENT) return PASS;
    pseudo = sumBytes(bytes, words, f0 + off + 8, f0 + off + 24) + sumBytes(bytes, words, dst, dst + 16);
  } else return PASS;
  const l4len = h.end - h.l4;
  if (h.proto === PROTO_TCP) {
    if (l4len < 20) return BAD;
    h.l4hdr = (bytes[f0 + h.l4 + 12]! >> 4) * 4;
    if (h.l4hdr < 20 || h.l4hdr > l4len) return BAD;
  } else if (h.proto === PROTO_UDP) {
    if (l4len < 8 || be16(bytes, f0 + h.l4 + 4) !== l4len) return BAD;
    h.l4hdr = 8;
  } else return PASS;
  h.pseudo = pseudo + h.proto + l4len;
  return L4;
}

/**
 * A routing header with segments left names the final destination, which the pseudo-header uses:
 * type 0 and 2 (RFC 8200, RFC 6275) as their last address, a segment routing header (type 4,
 * RFC 8754) as segment 0. Returns its absolute offset, or -1 for another type.
 */
export function finalDestination(bytes: Uint8Array, at: number): number {
  const type = bytes[at + 2]!;
  const addresses = bytes[at + 1]! >> 1;
  if (addresses === 0) return -1;
  if (type === 0 || type === 2) return at + 8 + 16 * (addresses - 1);
  if (type === 4) return at + 8;
  return -1;
}
