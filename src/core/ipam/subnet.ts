import ipaddr from "ipaddr.js";
import { UsageError } from "../errors.ts";
import { fourPart, intToV4, ipv4Range, maskV4, octetsToInt } from "./ipv4.ts";

export { intToV4, ipv4Range, maskV4 };

/** An IPv4 subnet as integers: `base` is the network address, `size` the number of addresses. */
export interface SubnetV4 {
  cidr: string;
  base: number;
  prefix: number;
  size: number;
}

/** IPv4 address string → unsigned 32-bit integer. */
export function v4ToInt(addr: string): number {
  return octetsToInt(fourPart(addr) ?? ipaddr.IPv4.parse(addr).octets); // other spellings ipaddr.js accepts (hex, octal, fewer parts)
}

export function isV4(addr: string): boolean {
  return fourPart(addr) !== null;
}

/** Parsed subnets by text: listing 10,000 leases parses their network's subnet once, not 10,000 times. */
const parsedV4 = new Map<string, Readonly<SubnetV4>>();
const PARSED_MAX = 4096;

/**
 * Parses "a.b.c.d/len". Host bits must be zero; /31 and /32 are refused because a network
 * needs a gateway and at least one guest address besides the network and broadcast addresses.
 */
export function parseSubnetV4(cidr: string): Readonly<SubnetV4> {
  let s = parsedV4.get(cidr);
  if (!s) {
    s = Object.freeze(parseSubnetV4Uncached(cidr));
    if (parsedV4.size >= PARSED_MAX) parsedV4.clear();
    parsedV4.set(cidr, s);
  }
  return s;
}

function parseSubnetV4Uncached(cidr: string): SubnetV4 {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(cidr);
  if (!m || !isV4(m[1]!)) throw new UsageError(`invalid subnet "${cidr}": expected an IPv4 CIDR like 192.168.70.0/24`);
  const prefix = Number(m[2]);
  if (prefix > 32) throw new UsageError(`invalid subnet "${cidr}": prefix length ${prefix} is over 32`);
  if (prefix >= 31) throw new UsageError(`invalid subnet "${cidr}": a /${prefix} has no room for a gateway and a guest; use /30 or larger`);
  if (prefix < 8) throw new UsageError(`invalid subnet "${cidr}": /${prefix} is larger than vmlan supports; use /8 to /30`);
  const size = 2 ** (32 - prefix);
  const addr = v4ToInt(m[1]!);
  const base = addr - (addr % size);
  if (base !== addr) throw new UsageError(`invalid subnet "${cidr}": host bits are set; did you mean ${intToV4(base)}/${prefix}?`);
  return { cidr, base, prefix, size };
}

/** The gateway is subnet + 1. */
export const gatewayV4 = (s: SubnetV4): number => s.base + 1;
/** Guests get subnet + 2 .. broadcast - 1. */
export const firstHostV4 = (s: SubnetV4): number => s.base + 2;
export const lastHostV4 = (s: SubnetV4): number => s.base + s.size - 2;

export function containsV4(s: SubnetV4, n: number): boolean {
  return n >= s.base && n < s.base + s.size;
}

export function overlapsV4(a: SubnetV4, b: SubnetV4): boolean {
  return a.base < b.base + b.size && b.base < a.base + a.size;
}

/** An IPv6 prefix as a bigint base and length. */
export interface SubnetV6 {
  cidr: string;
  base: bigint;
  prefix: number;
}

export function v6ToBig(addr: string): bigint {
  const parts = ipaddr.IPv6.parse(addr).parts;
  return parts.reduce((acc, p) => (acc << 16n) | BigInt(p), 0n);
}

export function bigToV6(n: bigint): string {
  const parts: number[] = [];
  for (let i = 7; i >= 0; i--) parts.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  return new ipaddr.IPv6(parts).toString();
}

const parsedV6 = new Map<string, Readonly<SubnetV6>>();

/**
 * Parses an IPv6 prefix. Guests get prefix + EUI-64 of their MAC, which needs 64 host bits,
 * so the prefix length must be 64 or shorter. Cached by text like IPv4's (an attach on a
 * dual-stack network parses its prefix twice, through ipaddr.js and bigints).
 */
export function parseSubnetV6(cidr: string): Readonly<SubnetV6> {
  let s = parsedV6.get(cidr);
  if (!s) {
    s = Object.freeze(parseSubnetV6Uncached(cidr));
    if (parsedV6.size >= PARSED_MAX) parsedV6.clear();
    parsedV6.set(cidr, s);
  }
  return s;
}

function parseSubnetV6Uncached(cidr: string): SubnetV6 {
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = ipaddr.parseCIDR(cidr);
  } catch {
    throw new UsageError(`invalid IPv6 prefix "${cidr}": expected a CIDR like fd00:1:2:3::/64`);
  }
  const [addr, prefix] = parsed;
  if (addr.kind() !== "ipv6") throw new UsageError(`invalid IPv6 prefix "${cidr}": that is an IPv4 CIDR`);
  if (prefix > 64) throw new UsageError(`invalid IPv6 prefix "${cidr}": /${prefix} is too long; guests use EUI-64 addresses, which need /64 or shorter`);
  if (prefix < 16) throw new UsageError(`invalid IPv6 prefix "${cidr}": /${prefix} is larger than vmlan supports; use /16 to /64`);
  const n = v6ToBig(addr.toString());
  const hostMask = (1n << BigInt(128 - prefix)) - 1n;
  if ((n & hostMask) !== 0n) throw new UsageError(`invalid IPv6 prefix "${cidr}": host bits are set; did you mean ${bigToV6(n & ~hostMask)}/${prefix}?`);
  return { cidr: `${bigToV6(n)}/${prefix}`, base: n, prefix };
}

export function overlapsV6(a: SubnetV6, b: SubnetV6): boolean {
  const p = Math.min(a.prefix, b.prefix);
  const shift = BigInt(128 - p);
  return a.base >> shift === b.base >> shift;
}

export const gatewayV6 = (s: SubnetV6): string => bigToV6(s.base + 1n);

/** Canonical form of a user-given IPv4 CIDR after validation. */
export function canonicalV4(s: SubnetV4): string {
  return `${intToV4(s.base)}/${s.prefix}`;
}
