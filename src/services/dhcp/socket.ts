/**
 * The DHCP server's UDP socket: bound to one bridge with SO_BINDTODEVICE (with several networks,
 * the ingress interface is what tells them apart; every socket binds 0.0.0.0:67), allowed to
 * broadcast, non-blocking. Bun's own UDP sockets cannot bind to a device, hence bun:ffi. On macOS
 * the interface is vmnet's bridge and the binding is IP_BOUND_IF (ffi/libc/udp-os.ts).
 */
import { libc } from "../../../ffi/libc/load.ts";
import { check, errno, syscallError, EAGAIN, EBADF, EINTR } from "../../../ffi/errno.ts";
import { OS } from "../../../ffi/libc/os.ts";
import { IPPROTO_UDP } from "../../../ffi/libc/udp.ts";
import { UDP_OS } from "../../../ffi/libc/udp-os.ts";
import { emulateSocketFlags } from "../../../ffi/libc/variadic.ts";
import { growReceiveBuffer } from "./receive-buffer.ts";

const { SOL_SOCKET, SO_REUSEADDR, SO_BROADCAST, MSG_DONTWAIT } = UDP_OS;
const { SOCK_DGRAM, SOCK_CLOEXEC, SOCK_NONBLOCK } = OS;
const AF_INET = 2;

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;

/** A sockaddr_in for ip:port (both written in network byte order). */
const sockaddrIn = (ip: string, port: number) => UDP_OS.sockaddrIn(ip, port);

function setInt(fd: number, level: number, name: number, value: number, what: string, subject: string): void {
  const v = new Int32Array([value]);
  check("setsockopt", libc().setsockopt(fd, level, name, v, 4), `${what} on ${subject}`);
}

export class DhcpSocket {
  #fd: number;
  readonly ifname: string;

  private constructor(fd: number, ifname: string) {
    this.#fd = fd;
    this.ifname = ifname;
  }

  /** socket → SO_REUSEADDR, SO_BROADCAST, SO_BINDTODEVICE(ifname) → bind 0.0.0.0:port. */
  static open(ifname: string, port = DHCP_SERVER_PORT): DhcpSocket {
    const c = libc();
    const fd = check("socket", c.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP), "DHCP socket");
    try {
      emulateSocketFlags(fd, true, true); // macOS has no SOCK_NONBLOCK/SOCK_CLOEXEC
      setInt(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR", ifname);
      setInt(fd, SOL_SOCKET, SO_BROADCAST, 1, "SO_BROADCAST", ifname);
      growReceiveBuffer(fd);
      const index = c.if_nametoindex(Buffer.from(`${ifname}\0`));
      const bindTo = UDP_OS.bindToInterface(ifname, index);
      check("setsockopt", c.setsockopt(fd, bindTo.level, bindTo.name, bindTo.value, bindTo.value.length), `binding to interface ${ifname}`);
      const addr = sockaddrIn("0.0.0.0", port);
      check("bind", c.bind(fd, addr, addr.length), `0.0.0.0:${port} on ${ifname}`);
    } catch (e) {
      c.close(fd);
      throw e;
    }
    return new DhcpSocket(fd, ifname);
  }

  /** The raw fd, for the receiving Worker (which never closes it; close only once the receiver let go of it). */
  unsafeFd(): number {
    return this.#fd;
  }

  /** Sends one datagram to ip:port ("broadcast" = 255.255.255.255). false when the send buffer is full (dropped; the client retries). */
  sendTo(bytes: Uint8Array, to: "broadcast" | string, port = DHCP_CLIENT_PORT): boolean {
    const addr = sockaddrIn(to === "broadcast" ? "255.255.255.255" : to, port);
    for (let i = 0; i < 10; i++) {
      const n = Number(libc().sendto(this.#fd, bytes, bytes.length, MSG_DONTWAIT, addr, addr.length));
      if (n >= 0) return true;
      const e = errno();
      if (e === EAGAIN) return false;
      if (e !== EINTR) throw syscallError("sendto", e, `${to}:${port} on ${this.ifname}`);
    }
    return false;
  }

  /** Closes the fd. Idempotent; call only after the receiver stopped receiving it. */
  close(): void {
    if (this.#fd >= 0) libc().close(this.#fd);
    this.#fd = -1;
  }
}

/** poll(2) over `count` pollfd entries for up to `ms`: how many are ready (0 on timeout or EINTR). Used by the Worker. */
export function readable(pollfds: Uint8Array, count: number, ms: number): number {
  return Math.max(0, libc().poll(pollfds, count, ms));
}

/** Reads one datagram into `buf` without blocking: its length, or -1 when nothing was there (EAGAIN, EINTR). */
export function recvDatagram(fd: number, buf: Uint8Array): number {
  const n = Number(libc().recv(fd, buf, buf.length, MSG_DONTWAIT));
  if (n >= 0) return n;
  const e = errno();
  if (e === EAGAIN || e === EINTR) return -1;
  // The fd was closed between poll and recv: the same fault poll reports as POLLNVAL, said the same way.
  if (e === EBADF) throw new Error(`fd ${fd} was closed while the receiver polled it`);
  throw syscallError("recv", e, `DHCP fd ${fd}`);
}
