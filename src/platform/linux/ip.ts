/** Address text ↔ bytes and CIDR checks for the Linux backend, via ipaddr.js. */
import ipaddr from "ipaddr.js";
import { AF_INET, AF_INET6 } from "../../../ffi/libc/constants.ts";
import { UsageError } from "../../core/errors.ts";


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

export function parseAddress(addr: string): { family: number; bytes: Uint8Array } {
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
  if (!IFNAME_RE.test(name)) throw new UsageError(`invalid interface name "${name}": use 1-15 letters, digits, '_', '.', '-'`);
  return name;
}
