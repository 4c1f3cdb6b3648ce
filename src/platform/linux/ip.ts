/** Address text ↔ bytes and CIDR checks for the Linux backend, via ipaddr.js. */
import ipaddr from "ipaddr.js";
import { AF_INET, AF_INET6 } from "../../../ffi/libc/constants.ts";
import { UsageError } from "../../core/errors.ts";
import { fourPart } from "../../core/ipam/ipv4.ts";


export interface Cidr { family: number; bytes: Uint8Array; prefix: number; text: string }

/** Parses "a.b.c.d/n" or "x::/n" and insists it is a network address (host bits zero). */
export function parseNetwork(cidr: string): Cidr {
  const c = parseCidrLoose(cidr);
  const [addr] = ipaddr.parseCIDR(cidr);
  const net = addr.kind() === "ipv4"
    ? ipaddr.IPv4.networkAddressFromCIDR(cidr)
    : ipaddr.IPv6.networkAddressFromCIDR(cidr);
  if (net.toString() !== addr.toString()) throw new UsageError(`invalid subnet "${cidr}": host bits set (network is ${net.toString()}/${c.prefix})`);
  return c;
}

/** Parses an address with prefix, e.g. a gateway "10.0.0.1/24"; host bits allowed. */
export function parseCidrLoose(cidr: string): Cidr {
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = ipaddr.parseCIDR(cidr);
  } catch {
    throw new UsageError(`invalid CIDR "${cidr}"`);
  }
  const [addr, prefix] = parsed;
  if (addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress()) throw new UsageError(`invalid CIDR "${cidr}": IPv4-mapped`);
  const bytes = Uint8Array.from(addr.toByteArray());
  return { family: bytes.length === 4 ? AF_INET : AF_INET6, bytes, prefix, text: `${addr.toString()}/${prefix}` };
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/**
 * The plain forms every address vmlan writes itself takes (a dotted quad without leading zeros;
 * IPv6 as hex groups with at most one `::`), parsed without ipaddr.js, or null for anything else.
 * ipaddr.js costs ~0.1 ms per address in a daemon that was idle between calls (a CNI ADD parses
 * several); it still decides every other form, and every invalid one.
 */
function parsePlain(s: string): Uint8Array | null {
  const q = fourPart(s);
  if (q) return Uint8Array.from(q);
  const halves = s.split("::");
  if (halves.length > 2 || s.length > 39) return null;
  const groupsOf = (h: string) => (h === "" ? [] : h.split(":"));
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  const n = head.length + tail.length;
  if (halves.length === 1 ? n !== 8 : n > 7) return null;
  const out = new Uint8Array(16);
  const put = (g: string, at: number) => {
    const v = parseInt(g, 16);
    out[at * 2] = v >> 8;
    out[at * 2 + 1] = v & 0xff;
  };
  for (const g of [...head, ...tail]) if (!HEX_GROUP.test(g)) return null;
  head.forEach((g, i) => put(g, i));
  tail.forEach((g, i) => put(g, 8 - tail.length + i));
  return out;
}

export function parseAddress(addr: string): { family: number; bytes: Uint8Array } {
  const plain = parsePlain(addr);
  if (plain) return { family: plain.length === 4 ? AF_INET : AF_INET6, bytes: plain };
  if (!ipaddr.isValid(addr)) throw new UsageError(`invalid IP address "${addr}"`);
  const bytes = Uint8Array.from(ipaddr.parse(addr).toByteArray());
  return { family: bytes.length === 4 ? AF_INET : AF_INET6, bytes };
}

export function formatAddress(bytes: Uint8Array): string {
  return ipaddr.fromByteArray(Array.from(bytes)).toString();
}

/** Linux interface names: 1-15 bytes, no '/', whitespace or ':' ; vmlan's are narrower still. */
export const IFNAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/;
export const isIfname = (name: string) => IFNAME_RE.test(name);

export function checkIfname(name: string): string {
  if (!isIfname(name)) throw new UsageError(`invalid interface name "${name}": use 1-15 letters, digits, '_', '.', '-'`);
  return name;
}
