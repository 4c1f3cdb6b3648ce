/**
 * Address ranges a vmlan network may not use. A network's addresses are assigned to a bridge and
 * handed to guests as unicast host addresses, so a subnet that overlaps a range with another
 * meaning (multicast, loopback, link-local, "this network", the future-use block, anycast
 * infrastructure, IPv4-in-IPv6 translation) is refused when it is requested. ipaddr.js's range()
 * names the ranges (its table cites the RFCs); this file decides which ones vmlan refuses.
 *
 * Allowed, on purpose: private ranges (RFC 1918, ULA fc00::/7), shared address space 100.64/10,
 * public unicast, and the documentation and benchmarking ranges (192.0.2/24, 198.51.100/24,
 * 203.0.113/24, 198.18/15, 2001:db8::/32, 3fff::/20, 2001:2::/48): they are unicast and never routed
 * on the internet, so a private network in them collides with nothing real, and examples use
 * them (Docker and libvirt accept them too). IPv6 outside 2000::/3 and fc00::/7 is refused: IANA
 * has assigned nothing else for unicast (RFC 4291 §2.4, IANA's IPv6 address space registry).
 *
 * Stored networks are not checked here (rows from an older vmlan still load); requests are.
 */
import ipaddr from "ipaddr.js";
import { UsageError } from "../errors.ts";
import { canonicalV4, parseSubnetV4, parseSubnetV6 } from "./subnet.ts";

interface Range { cidr: string; why: string }

const V4: Range[] = [
  { cidr: "0.0.0.0/8", why: `"this network" (RFC 791), never a host address` },
  { cidr: "127.0.0.0/8", why: "loopback (RFC 1122)" },
  { cidr: "169.254.0.0/16", why: "link-local (RFC 3927)" },
  { cidr: "192.0.0.0/24", why: "reserved for IETF protocol assignments (RFC 6890)" },
  { cidr: "192.31.196.0/24", why: "AS112 anycast DNS (RFC 7535)" },
  { cidr: "192.52.193.0/24", why: "AMT anycast (RFC 7450)" },
  { cidr: "192.88.99.0/24", why: "the deprecated 6to4 relay anycast (RFC 7526)" },
  { cidr: "192.175.48.0/24", why: "AS112 anycast DNS (RFC 7534)" },
  { cidr: "224.0.0.0/4", why: "multicast (RFC 5771)" },
  { cidr: "240.0.0.0/4", why: "reserved for future use (RFC 1112), which includes the broadcast address 255.255.255.255" },
];

const V6: Range[] = [
  { cidr: "::/127", why: "the unspecified and loopback addresses (RFC 4291)" },
  { cidr: "::ffff:0:0/96", why: "IPv4-mapped addresses (RFC 4291)" },
  { cidr: "::ffff:0:0:0/96", why: "IPv4-translated addresses (RFC 6145)" },
  { cidr: "64:ff9b::/96", why: "the NAT64 well-known prefix (RFC 6052)" },
  { cidr: "64:ff9b:1::/48", why: "local-use NAT64 (RFC 8215)" },
  { cidr: "100::/64", why: "the discard prefix (RFC 6666)" },
  { cidr: "2001::/23", why: "reserved for IETF protocol assignments, including Teredo 2001::/32 (RFC 2928, RFC 4380)" },
  { cidr: "2001:3::/32", why: "AMT (RFC 7450)" },
  { cidr: "2001:4:112::/48", why: "AS112 anycast DNS (RFC 7535)" },
  { cidr: "2001:10::/28", why: "ORCHID (RFC 4843)" },
  { cidr: "2001:20::/28", why: "ORCHIDv2 (RFC 7343)" },
  { cidr: "2001:30::/28", why: "drone remote ID tags (RFC 9374)" },
  { cidr: "2002::/16", why: "6to4 (RFC 3056)" },
  { cidr: "2620:4f:8000::/48", why: "AS112 anycast DNS (RFC 7534)" },
  { cidr: "5f00::/16", why: "segment routing SIDs (RFC 9602)" },
  { cidr: "fe80::/10", why: "link-local (RFC 4291)" },
  { cidr: "fec0::/10", why: "the deprecated site-local range (RFC 3879)" },
  { cidr: "ff00::/8", why: "multicast (RFC 4291)" },
];

/** Documentation and benchmarking prefixes inside the 2001::/23 block above that stay allowed. */
const V6_ALLOWED_INSIDE: string[] = ["2001:2::/48"];
const V6_UNICAST: string[] = ["2000::/3", "fc00::/7"];

type Parsed = [ipaddr.IPv4 | ipaddr.IPv6, number];
const parse = (cidr: string): Parsed => ipaddr.parseCIDR(cidr);

/** Two prefixes overlap when the shorter one contains the other's base address. */
function overlaps([a, al]: Parsed, [b, bl]: Parsed): boolean {
  if (a.kind() !== b.kind()) return false;
  return al <= bl ? b.match(a, al) : a.match(b, bl);
}
const within = ([a, al]: Parsed, [b, bl]: Parsed) => a.kind() === b.kind() && al >= bl && a.match(b, bl);

/** Parsed on first use, not at import: every command that opens the store loads this file (a helper's start: ~0.4 ms interpreted). */
let parsed: { v4: Array<Range & { p: Parsed }>; v6: Array<Range & { p: Parsed }>; allowedInside: Parsed[]; unicast: Parsed[] } | null = null;
const tables = () => (parsed ??= {
  v4: V4.map((r) => ({ ...r, p: parse(r.cidr) })), v6: V6.map((r) => ({ ...r, p: parse(r.cidr) })),
  allowedInside: V6_ALLOWED_INSIDE.map(parse), unicast: V6_UNICAST.map(parse),
});

/** Why a valid, canonical CIDR may not be a network's subnet ("224.0.0.0/4 is multicast ..."), or null. */
export function reservedReason(cidr: string): string | null {
  const p = parse(cidr);
  const v6 = p[0].kind() === "ipv6";
  const t = tables();
  if (v6 && t.allowedInside.some((a) => within(p, a))) return null;
  // The most specific range names the reason best (2001:10::/28 is ORCHID, though inside 2001::/23).
  const hit = (v6 ? t.v6 : t.v4).filter((r) => overlaps(p, r.p)).sort((x, y) => y.p[1] - x.p[1])[0];
  if (hit) return `it overlaps ${hit.cidr}, ${hit.why}`;
  if (v6 && !t.unicast.some((u) => within(p, u))) return `it is not in 2000::/3 (global unicast) or fc00::/7 (unique local), the only ranges assigned for unicast`;
  return null;
}

/** What to suggest instead, per family. */
export const PRIVATE_HINT = { v4: "use a private range such as 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16", v6: "use a unique local prefix such as fd00:1::/64" };

/**
 * A requested subnet, checked: parseSubnetV4/V6 for the form, then the reserved ranges. Throws a
 * UsageError naming the value and the reason; returns the canonical CIDR.
 */
export function requestedSubnet(cidr: string, family: "v4" | "v6"): string {
  const canonical = family === "v4" ? canonicalV4(parseSubnetV4(cidr)) : parseSubnetV6(cidr).cidr;
  const why = reservedReason(canonical);
  if (why) throw new UsageError(`invalid ${family === "v4" ? "subnet" : "IPv6 prefix"} "${cidr}": ${why}; ${PRIVATE_HINT[family]}`);
  return canonical;
}
