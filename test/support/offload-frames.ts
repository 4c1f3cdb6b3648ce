/**
 * Crafted frames for the offload tests: TCP or UDP over IPv4 or IPv6, with VLAN tags, IPv6 extension
 * headers, fragments and chosen checksums (complete, partial as a guest with checksum offload leaves
 * it, or wrong), and a checksum verifier of its own (byte by byte, RFC 1071/768/793/8200), written
 * apart from src/datapath/offload so the two can disagree.
 */
export const VM_MAC = [0x02, 0, 0, 0, 0, 0x01];
export const PEER_MAC = [0x02, 0, 0, 0, 0, 0x02];

export type Csum = "full" | "partial" | "bad" | "zero";

export interface FrameSpec {
  v6?: boolean;
  proto?: "tcp" | "udp" | "icmp";
  payload?: number;
  /** VLAN tags (TPIDs) in front of the EtherType. */
  vlans?: number[];
  /** IPv6 extension headers before the L4 header: hop-by-hop (0), destination options (60), routing with segments left (43). */
  ext?: Array<0 | 60 | 43>;
  /** IPv4: flags/fragment offset word (0x2000 = more fragments). IPv6: a fragment header. */
  fragment?: number;
  csum?: Csum;
  ipv4HeaderCsum?: "full" | "bad";
  /** Bytes of Ethernet padding after the IP packet. */
  padding?: number;
  /** TCP flags byte (default ACK|PSH). */
  tcpFlags?: number;
  src?: number[];
  dst?: number[];
}

const V4_SRC = [10, 99, 0, 2], V4_DST = [10, 99, 0, 3];
const V6_SRC = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const V6_DST = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3];
/** The final destination a routing header names (RFC 8200 §8.1 puts it in the pseudo-header). */
export const V6_FINAL = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9];

const be16 = (b: Uint8Array, at: number, v: number) => { b[at] = v >> 8; b[at + 1] = v & 0xff; };
const rd16 = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!;

/** The one's complement sum, folded, of byte ranges taken as one stream of big-endian 16-bit words. */
export function onesSum(...parts: Uint8Array[]): number {
  let s = 0;
  for (const p of parts) {
    for (let i = 0; i < p.length; i += 2) s += (p[i]! << 8) | (i + 1 < p.length ? p[i + 1]! : 0);
  }
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function pseudo(src: Uint8Array, dst: Uint8Array, proto: number, len: number, v6: boolean): Uint8Array {
  const p = new Uint8Array(v6 ? 40 : 12);
  p.set(src, 0);
  p.set(dst, src.length);
  if (v6) { p[32] = len >>> 24; p[33] = (len >> 16) & 0xff; be16(p, 34, len & 0xffff); p[39] = proto; }
  else { p[9] = proto; be16(p, 10, len); }
  return p;
}

export function frame(s: FrameSpec): Uint8Array<ArrayBuffer> {
  const v6 = s.v6 ?? false;
  const proto = s.proto ?? "tcp";
  const pnum = proto === "tcp" ? 6 : proto === "udp" ? 17 : v6 ? 58 : 1;
  const l4hdr = proto === "tcp" ? 20 : 8;
  const payload = s.payload ?? 100;
  const l4 = new Uint8Array(l4hdr + payload);
  for (let i = l4hdr; i < l4.length; i++) l4[i] = (i * 131 + 7) & 0xff;
  be16(l4, 0, 40000); be16(l4, 2, 5201);
  if (proto === "tcp") { l4[12] = 5 << 4; l4[13] = s.tcpFlags ?? 0x18; be16(l4, 14, 64000); }
  if (proto === "udp") be16(l4, 4, l4.length);
  if (proto === "icmp") l4[0] = v6 ? 128 : 8;
  const src = Uint8Array.from(s.src ?? (v6 ? V6_SRC : V4_SRC));
  const dst = Uint8Array.from(s.dst ?? (v6 ? V6_DST : V4_DST));
  const ext: number[] = [];
  let exts = new Uint8Array(0);
  let pseudoDst = dst;
  if (v6) {
    const chain = [...(s.ext ?? []), ...(s.fragment !== undefined ? [44] : [])];
    const parts: Uint8Array[] = [];
    for (let i = 0; i < chain.length; i++) {
      const next = i + 1 < chain.length ? chain[i + 1]! : pnum;
      const h = chain[i] === 43 ? new Uint8Array(24) : new Uint8Array(8);
      h[0] = next;
      if (chain[i] === 43) { h[1] = 2; h[2] = 0; h[3] = 1; h.set(V6_FINAL, 8); pseudoDst = Uint8Array.from(V6_FINAL); } // type 0, 1 address left
      if (chain[i] === 44) be16(h, 2, s.fragment!);
      if (chain[i] === 0 || chain[i] === 60) { h[2] = 1; h[3] = 4; } // a PadN option filling the header
      parts.push(h);
      ext.push(chain[i]!);
    }
    exts = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) { exts.set(p, o); o += p.length; }
  }
  const csum = s.csum ?? "full";
  const checkAt = proto === "tcp" ? 16 : proto === "udp" ? 6 : 2;
  const ph = pseudo(src, pseudoDst, pnum, l4.length, v6);
  if (proto === "icmp") be16(l4, 2, ~onesSum(v6 ? ph : new Uint8Array(0), l4) & 0xffff);
  else if (csum === "full" || csum === "bad") {
    let c = ~onesSum(ph, l4) & 0xffff;
    if (proto === "udp" && c === 0) c = 0xffff;
    be16(l4, checkAt, csum === "bad" ? c ^ 0x5a5a : c);
  } else if (csum === "partial") be16(l4, checkAt, onesSum(ph));
  const ipHdr = new Uint8Array(v6 ? 40 : 20);
  if (v6) {
    ipHdr[0] = 0x60;
    be16(ipHdr, 4, exts.length + l4.length);
    ipHdr[6] = ext.length ? ext[0]! : pnum;
    ipHdr[7] = 64;
    ipHdr.set(src, 8); ipHdr.set(dst, 24);
  } else {
    ipHdr[0] = 0x45;
    be16(ipHdr, 2, 20 + l4.length);
    be16(ipHdr, 4, 0x1234);
    be16(ipHdr, 6, s.fragment ?? 0x4000);
    ipHdr[8] = 64; ipHdr[9] = pnum;
    ipHdr.set(src, 12); ipHdr.set(dst, 16);
    const hc = ~onesSum(ipHdr) & 0xffff;
    be16(ipHdr, 10, s.ipv4HeaderCsum === "bad" ? hc ^ 0x1111 : hc);
  }
  const vlans = s.vlans ?? [];
  const l2 = 14 + vlans.length * 4;
  const f = new Uint8Array(l2 + ipHdr.length + exts.length + l4.length + (s.padding ?? 0));
  f.set(PEER_MAC, 0); f.set(VM_MAC, 6);
  vlans.forEach((tpid, i) => { be16(f, 12 + i * 4, tpid); be16(f, 14 + i * 4, 100 + i); });
  be16(f, l2 - 2, v6 ? 0x86dd : 0x0800);
  f.set(ipHdr, l2); f.set(exts, l2 + ipHdr.length); f.set(l4, l2 + ipHdr.length + exts.length);
  return f;
}

export interface Parsed { l3: number; l4: number; end: number; v6: boolean; proto: number; src: Uint8Array; dst: Uint8Array; finalDst: Uint8Array }

/** The headers of a frame built by frame() (no other shapes), walked independently. */
export function parse(f: Uint8Array): Parsed {
  let l3 = 14;
  while (rd16(f, l3 - 2) === 0x8100 || rd16(f, l3 - 2) === 0x88a8) l3 += 4;
  const v6 = rd16(f, l3 - 2) === 0x86dd;
  if (!v6) {
    return { l3, l4: l3 + (f[l3]! & 15) * 4, end: l3 + rd16(f, l3 + 2), v6, proto: f[l3 + 9]!, src: f.slice(l3 + 12, l3 + 16), dst: f.slice(l3 + 16, l3 + 20), finalDst: f.slice(l3 + 16, l3 + 20) };
  }
  let nh = f[l3 + 6]!, p = l3 + 40;
  let finalDst = f.slice(l3 + 24, l3 + 40);
  while (nh === 0 || nh === 60 || nh === 43 || nh === 44) {
    if (nh === 43) finalDst = f.slice(p + 8, p + 24);
    const len = nh === 44 ? 8 : (f[p + 1]! + 1) * 8;
    nh = f[p]!;
    p += len;
  }
  return { l3, l4: p, end: l3 + 40 + rd16(f, l3 + 4), v6, proto: nh, src: f.slice(l3 + 8, l3 + 24), dst: f.slice(l3 + 24, l3 + 40), finalDst };
}

/** Whether the frame's TCP/UDP checksum is right (IPv4 UDP 0 = none: true). */
export function l4ChecksumOk(f: Uint8Array): boolean {
  const p = parse(f);
  const l4 = f.subarray(p.l4, p.end);
  if (p.proto === 17 && !p.v6 && rd16(l4, 6) === 0) return true;
  return onesSum(pseudo(p.src, p.finalDst, p.proto, l4.length, p.v6), l4) === 0xffff;
}

export function ipv4HeaderOk(f: Uint8Array): boolean {
  const p = parse(f);
  return onesSum(f.subarray(p.l3, p.l4)) === 0xffff;
}

/** What the kernel does with VIRTIO_NET_HDR_F_NEEDS_CSUM: sum from csum_start to the end, store the complement at csum_start + csum_offset. */
export function completeLikeKernel(f: Uint8Array, start: number, offset: number): Uint8Array {
  const out = Uint8Array.from(f);
  let c = ~onesSum(out.subarray(start)) & 0xffff;
  if (c === 0) c = 0xffff;
  be16(out, start + offset, c);
  return out;
}
