/**
 * Can a published port's host ports be bound right now? A socket per port, bound and closed at once
 * (bun:ffi, so nothing of Bun's own socket options interferes): TCP with SO_REUSEADDR, so only a
 * listener (or a socket bound without it) counts and connections in TIME_WAIT do not; UDP without,
 * so any bound socket counts; IPv6 with IPV6_V6ONLY, so [::] does not claim IPv4's 0.0.0.0.
 */
import { libc } from "../../../ffi/libc/load.ts";
import { errno } from "../../../ffi/errno.ts";
import { AF_INET, AF_INET6, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET } from "../../../ffi/libc/constants.ts";
import { IPPROTO_IPV6, IPPROTO_TCP, IPPROTO_UDP, IPV6_V6ONLY } from "../../../ffi/libc/inet.ts";
import { SO_REUSEADDR, sockaddr_in } from "../../../ffi/libc/udp.ts";
import { sockaddr_in6 } from "../../../ffi/libc/icmp6.ts";
import { alloc, offsetOf } from "../../../ffi/layout.ts";
import ipaddr from "ipaddr.js";
import { HostError, UsageError } from "../../core/errors.ts";
import { familyOf, hostAddressText, type PortSpec } from "../../core/ports/spec.ts";
import type { PortHolder } from "../types.ts";
import { findHolder } from "./port-holder.ts";

const EADDRINUSE = 98;
const EADDRNOTAVAIL = 99;

export function sockaddr(ip: string, port: number): Uint8Array {
  const bytes = ipaddr.parse(ip).toByteArray();
  if (bytes.length === 4) {
    const a = alloc(sockaddr_in);
    a.view.setUint16(offsetOf(sockaddr_in, "sin_family"), AF_INET, true);
    a.view.setUint16(offsetOf(sockaddr_in, "sin_port"), port, false);
    a.bytes.set(bytes, offsetOf(sockaddr_in, "sin_addr"));
    return a.bytes;
  }
  const a = alloc(sockaddr_in6);
  a.view.setUint16(offsetOf(sockaddr_in6, "sin6_family"), AF_INET6, true);
  a.view.setUint16(offsetOf(sockaddr_in6, "sin6_port"), port, false);
  a.bytes.set(bytes, offsetOf(sockaddr_in6, "sin6_addr"));
  return a.bytes;
}

/** 0 when ip:port could be bound, else the errno of socket/setsockopt/bind. */
function tryBind(proto: "tcp" | "udp", ip: string, port: number): number {
  const c = libc();
  const v6 = familyOf(ip) === 6;
  const fd = c.socket(v6 ? AF_INET6 : AF_INET, (proto === "tcp" ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, proto === "tcp" ? IPPROTO_TCP : IPPROTO_UDP);
  if (fd < 0) return errno();
  try {
    const one = new Int32Array([1]);
    if (proto === "tcp" && c.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, 4) < 0) return errno();
    if (v6 && c.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, one, 4) < 0) return errno();
    const addr = sockaddr(ip, port);
    return c.bind(fd, addr, addr.length) < 0 ? errno() : 0;
  } finally {
    c.close(fd);
  }
}

export function probeHostPort(s: PortSpec): PortHolder | null {
  for (let port = s.hostPort; port <= s.hostEnd; port++) {
    const err = tryBind(s.proto, s.hostIp, port);
    if (err === 0) continue;
    if (err === EADDRINUSE) return findHolder(s.proto, s.hostIp, port);
    if (err === EADDRNOTAVAIL) throw new UsageError(`host address ${s.hostIp} is not an address of this host; use 127.0.0.1, 0.0.0.0, [::] or one of its addresses`);
    throw new HostError(`cannot check ${hostAddressText(s.hostIp)}:${port}/${s.proto}: bind failed with errno ${err}`);
  }
  return null;
}
