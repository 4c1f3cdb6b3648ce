/** Ethernet / ARP / IPv4 / ICMP frame builders and parsers for the fake guest (RFC 826, 791, 792). */

export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;
export const IPPROTO_ICMP = 1;
export const ICMP_ECHO_REPLY = 0;
export const ICMP_ECHO_REQUEST = 8;
export const BROADCAST = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
export const eq = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

export function parseMac(s: string): Uint8Array {
  const parts = s.split(":");
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new Error(`bad MAC ${s}`);
  return Uint8Array.from(parts.map((p) => Number.parseInt(p, 16)));
}
export const formatMac = (m: Uint8Array) => [...m].map((b) => b.toString(16).padStart(2, "0")).join(":");

export function parseIpv4(s: string): Uint8Array {
  const parts = s.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`bad IPv4 ${s}`);
  return Uint8Array.from(parts);
}
export const formatIpv4 = (a: Uint8Array) => [...a].join(".");

/** The Internet checksum (RFC 1071): ones' complement of the ones' complement sum of 16-bit words. */
export function checksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (b.length & 1) sum += b[b.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface Ethernet { dst: Uint8Array; src: Uint8Array; type: number; payload: Uint8Array }
export function ethernet(dst: Uint8Array, src: Uint8Array, type: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(dst, 0);
  f.set(src, 6);
  dv(f).setUint16(12, type);
  f.set(payload, 14);
  return f;
}
export function parseEthernet(f: Uint8Array): Ethernet | null {
  if (f.length < 14) return null;
  return { dst: f.subarray(0, 6), src: f.subarray(6, 12), type: dv(f).getUint16(12), payload: f.subarray(14) };
}

export interface Arp { op: number; sha: Uint8Array; spa: Uint8Array; tha: Uint8Array; tpa: Uint8Array }
/** ARP for Ethernet/IPv4: htype 1, ptype 0x0800, hlen 6, plen 4. */
export function arp(a: Arp): Uint8Array {
  const p = new Uint8Array(28);
  const v = dv(p);
  v.setUint16(0, 1);
  v.setUint16(2, ETH_P_IP);
  p[4] = 6;
  p[5] = 4;
  v.setUint16(6, a.op);
  p.set(a.sha, 8);
  p.set(a.spa, 14);
  p.set(a.tha, 18);
  p.set(a.tpa, 24);
  return p;
}
export function parseArp(p: Uint8Array): Arp | null {
  if (p.length < 28 || dv(p).getUint16(0) !== 1 || dv(p).getUint16(2) !== ETH_P_IP) return null;
  return { op: dv(p).getUint16(6), sha: p.subarray(8, 14), spa: p.subarray(14, 18), tha: p.subarray(18, 24), tpa: p.subarray(24, 28) };
}

export interface Ipv4 { src: Uint8Array; dst: Uint8Array; proto: number; ttl: number; payload: Uint8Array }
export function ipv4(p: { src: Uint8Array; dst: Uint8Array; proto: number; ttl?: number; id?: number; payload: Uint8Array }): Uint8Array {
  const b = new Uint8Array(20 + p.payload.length);
  const v = dv(b);
  b[0] = 0x45; // version 4, IHL 5 words
  v.setUint16(2, b.length);
  v.setUint16(4, p.id ?? 0);
  v.setUint16(6, 0x4000); // don't fragment
  b[8] = p.ttl ?? 64;
  b[9] = p.proto;
  b.set(p.src, 12);
  b.set(p.dst, 16);
  v.setUint16(10, checksum(b.subarray(0, 20)));
  b.set(p.payload, 20);
  return b;
}
export function parseIpv4Packet(b: Uint8Array): Ipv4 | null {
  if (b.length < 20 || b[0]! >> 4 !== 4) return null;
  const ihl = (b[0]! & 0x0f) * 4;
  const total = dv(b).getUint16(2);
  if (ihl < 20 || total > b.length || checksum(b.subarray(0, ihl)) !== 0) return null;
  return { src: b.subarray(12, 16), dst: b.subarray(16, 20), proto: b[9]!, ttl: b[8]!, payload: b.subarray(ihl, total) };
}

export interface Icmp { type: number; code: number; id: number; seq: number; data: Uint8Array }
export function icmpEcho(i: { type: number; id: number; seq: number; data: Uint8Array }): Uint8Array {
  const b = new Uint8Array(8 + i.data.length);
  const v = dv(b);
  b[0] = i.type;
  v.setUint16(4, i.id);
  v.setUint16(6, i.seq);
  b.set(i.data, 8);
  v.setUint16(2, checksum(b));
  return b;
}
export function parseIcmp(b: Uint8Array): Icmp | null {
  if (b.length < 8 || checksum(b) !== 0) return null;
  return { type: b[0]!, code: b[1]!, id: dv(b).getUint16(4), seq: dv(b).getUint16(6), data: b.subarray(8) };
}
