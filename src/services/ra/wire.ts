/**
 * IPv6 router advertisements (RFC 4861 §4.2) with the options guests need, pure. The kernel fills
 * in the ICMPv6 checksum on raw IPPROTO_ICMPV6 sockets (RFC 3542 §3.1), so it is left 0 here.
 *
 *   type 134 | code | checksum | cur hop limit | M O flags | router lifetime | reachable | retrans
 *   options: MTU (5), prefix information (3), RDNSS (25, RFC 8106), DNSSL (31, RFC 8106)
 */
export const ND_ROUTER_SOLICIT = 133;
export const ND_ROUTER_ADVERT = 134;

export interface RaSpec {
  /** The prefix as 16 bytes and its length. Autonomous (SLAAC) only for /64, which EUI-64 needs. */
  prefix: Uint8Array;
  prefixLength: number;
  /** Seconds; 0 = "not a default router" (host-only networks). */
  routerLifetime: number;
  mtu: number;
  /** The DNS server (the gateway's IPv6 address) and search domain. */
  dns: Uint8Array | null;
  domain: string | null;
  /** Lifetimes, seconds. */
  validLifetime: number;
  preferredLifetime: number;
  dnsLifetime: number;
}

/** RFC 4861 §6.2.1: AdvCurHopLimit default is the Internet's, 64. */
const CUR_HOP_LIMIT = 64;

export function encodeRa(s: RaSpec): Uint8Array {
  const parts: number[][] = [];
  const u16 = (n: number) => [(n >>> 8) & 0xff, n & 0xff];
  const u32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  parts.push([ND_ROUTER_ADVERT, 0, 0, 0, CUR_HOP_LIMIT, 0, ...u16(s.routerLifetime), ...u32(0), ...u32(0)]);
  parts.push([5, 1, 0, 0, ...u32(s.mtu)]);
  const flags = 0x80 | (s.prefixLength === 64 ? 0x40 : 0); // L (on-link), A (autonomous)
  parts.push([3, 4, s.prefixLength, flags, ...u32(s.validLifetime), ...u32(s.preferredLifetime), ...u32(0), ...s.prefix]);
  if (s.dns) parts.push([25, 3, 0, 0, ...u32(s.dnsLifetime), ...s.dns]);
  if (s.domain) {
    const name = [...s.domain.split(".").flatMap((l) => [l.length, ...new TextEncoder().encode(l)]), 0];
    const len8 = Math.ceil((8 + name.length) / 8); // option length in units of 8 bytes, zero padded
    const opt = [31, len8, 0, 0, ...u32(s.dnsLifetime), ...name];
    while (opt.length < len8 * 8) opt.push(0);
    parts.push(opt);
  }
  return Uint8Array.from(parts.flat());
}

/** True for a well-formed router solicitation (type 133, code 0, at least the 8-byte header). */
export function isRouterSolicit(b: Uint8Array): boolean {
  return b.length >= 8 && b[0] === ND_ROUTER_SOLICIT && b[1] === 0;
}
