/**
 * Numbers and layouts for the router-advertisement socket (src/services/ra/socket.ts): a raw ICMPv6
 * socket bound to one bridge. The calls are in ffi/libc/symbols.ts. Headers: <netinet/in.h>,
 * <linux/in6.h>, <netinet/icmp6.h>.
 */
import { array, struct } from "../layout.ts";

export const IPPROTO_IPV6 = 41;
export const IPPROTO_ICMPV6 = 58;
/** <linux/in6.h> */
export const IPV6_UNICAST_HOPS = 16;
export const IPV6_MULTICAST_HOPS = 18;
export const IPV6_ADD_MEMBERSHIP = 20;
/** <netinet/icmp6.h>: setsockopt level IPPROTO_ICMPV6; a 256-bit block mask of ICMPv6 types. */
export const ICMP6_FILTER = 1;

/** <netinet/in.h> struct sockaddr_in6: 28 bytes; port in network byte order, scope id in host order. */
export const sockaddr_in6 = struct("sockaddr_in6", [
  ["sin6_family", "u16"],
  ["sin6_port", "u16"],
  ["sin6_flowinfo", "u32"],
  ["sin6_addr", array("u8", 16)],
  ["sin6_scope_id", "u32"],
]);

/** <netinet/in.h> struct ipv6_mreq: 20 bytes (group address, interface index). */
export const ipv6_mreq = struct("ipv6_mreq", [
  ["ipv6mr_multiaddr", array("u8", 16)],
  ["ipv6mr_interface", "u32"],
]);
