/**
 * The router-advertisement socket: raw ICMPv6 bound to one bridge, hop limit 255 (RFC 4861 §6.1.2:
 * receivers drop RAs with any other), member of ff02::2 (all-routers) to hear solicitations,
 * filtered to router solicitations only, non-blocking. Read from the main thread with MSG_DONTWAIT.
 */
import { libc } from "../../../ffi/libc/load.ts";
import { check, errno, syscallError, EAGAIN, EINTR } from "../../../ffi/errno.ts";
import { AF_INET6, MSG_DONTWAIT, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_RAW, SOL_SOCKET } from "../../../ffi/libc/constants.ts";
import { SO_BINDTODEVICE } from "../../../ffi/libc/udp.ts";
import {
  ICMP6_FILTER, IPPROTO_ICMPV6, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, IPV6_MULTICAST_HOPS, IPV6_UNICAST_HOPS, ipv6_mreq, sockaddr_in6,
} from "../../../ffi/libc/icmp6.ts";
import { alloc, offsetOf } from "../../../ffi/layout.ts";
import { ND_ROUTER_SOLICIT } from "./wire.ts";

/** ff02::1 (all nodes) and ff02::2 (all routers), RFC 4291 §2.7.1. */
const ALL_NODES = Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
const ALL_ROUTERS = Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2);

export class RaSocket {
  #fd: number;
  readonly #to: Uint8Array;
  readonly #buf = new Uint8Array(1500);
  private constructor(fd: number, readonly ifname: string, ifindex: number) {
    this.#fd = fd;
    const { bytes, view } = alloc(sockaddr_in6);
    view.setUint16(offsetOf(sockaddr_in6, "sin6_family"), AF_INET6, true);
    bytes.set(ALL_NODES, offsetOf(sockaddr_in6, "sin6_addr"));
    view.setUint32(offsetOf(sockaddr_in6, "sin6_scope_id"), ifindex, true);
    this.#to = bytes;
  }

  static open(ifname: string): RaSocket {
    const c = libc();
    const ifindex = c.if_nametoindex(Buffer.from(`${ifname}\0`));
    if (ifindex === 0) throw syscallError("if_nametoindex", errno(), ifname);
    const fd = check("socket", c.socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6), "ICMPv6 socket");
    try {
      const name = Buffer.from(`${ifname}\0`);
      check("setsockopt", c.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, name.length), `SO_BINDTODEVICE ${ifname}`);
      const hops = new Int32Array([255]);
      check("setsockopt", c.setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, hops, 4), `IPV6_MULTICAST_HOPS on ${ifname}`);
      check("setsockopt", c.setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, hops, 4), `IPV6_UNICAST_HOPS on ${ifname}`);
      // ICMP6_FILTER: a bit set = type blocked; pass only router solicitations.
      const filter = new Uint32Array(8).fill(0xffffffff);
      filter[ND_ROUTER_SOLICIT >> 5]! &= ~(1 << (ND_ROUTER_SOLICIT & 31));
      check("setsockopt", c.setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, filter, 32), `ICMP6_FILTER on ${ifname}`);
      const { bytes, view } = alloc(ipv6_mreq);
      bytes.set(ALL_ROUTERS, offsetOf(ipv6_mreq, "ipv6mr_multiaddr"));
      view.setUint32(offsetOf(ipv6_mreq, "ipv6mr_interface"), ifindex, true);
      check("setsockopt", c.setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, bytes, bytes.length), `join ff02::2 on ${ifname}`);
    } catch (e) {
      c.close(fd);
      throw e;
    }
    return new RaSocket(fd, ifname, ifindex);
  }

  get fd(): number {
    return this.#fd;
  }

  /** Multicasts to ff02::1. false when the kernel cannot send yet (no link-local address on the bridge before a port is up). */
  send(ra: Uint8Array): boolean {
    const n = Number(libc().sendto(this.#fd, ra, ra.length, MSG_DONTWAIT, this.#to, this.#to.length));
    if (n >= 0) return true;
    const e = errno();
    if (e === EAGAIN || e === EINTR || e === 99 /* EADDRNOTAVAIL */ || e === 101 /* ENETUNREACH */) return false;
    throw syscallError("sendto", e, `ff02::1 on ${this.ifname}`);
  }

  /** Drains queued datagrams without blocking; returns how many were router solicitations. */
  drainSolicits(): number {
    let count = 0;
    for (let i = 0; i < 64; i++) {
      const n = Number(libc().recv(this.#fd, this.#buf, this.#buf.length, MSG_DONTWAIT));
      if (n < 0) break;
      if (n >= 8 && this.#buf[0] === ND_ROUTER_SOLICIT) count++;
    }
    return count;
  }

  close(): void {
    if (this.#fd >= 0) libc().close(this.#fd);
    this.#fd = -1;
  }
}
