/**
 * Numbers for TCP and UDP sockets on IPv4 and IPv6 (the published ports' probe and holds, Linux
 * values): <netinet/in.h>, <linux/in6.h>. sockaddr_in is in udp.ts, sockaddr_in6 in icmp6.ts.
 */
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41;
/** <linux/in6.h>: an AF_INET6 socket on :: takes IPv6 only, so 0.0.0.0 stays free for an IPv4 spec. */
export const IPV6_V6ONLY = 26;
