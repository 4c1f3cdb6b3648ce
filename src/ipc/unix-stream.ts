/**
 * Unix stream sockets through bun:ffi, for what Bun's own sockets cannot do: peer credentials
 * (SO_PEERCRED) and passing file descriptors (SCM_RIGHTS). Non-blocking; the owner polls.
 */
import { ptr } from "bun:ffi";
import { libc } from "../../ffi/libc/load.ts";
import { libcUnix, ucred, cmsghdr, SO_PEERCRED, SCM_RIGHTS, CMSG_LEN_INT, CMSG_SPACE_INT, MSG_CMSG_CLOEXEC, SOCKADDR_UN_LEN } from "../../ffi/libc/unix.ts";
import { msghdr, iovec } from "../../ffi/libc/structs.ts";
import { alloc, write, read } from "../../ffi/layout.ts";
import { AF_UNIX, SOCK_STREAM, SOCK_NONBLOCK, SOCK_CLOEXEC, SOL_SOCKET, MSG_DONTWAIT } from "../../ffi/libc/constants.ts";
import { check, errno, syscallError, EAGAIN, EINTR } from "../../ffi/errno.ts";
import { UsageError } from "../core/errors.ts";

export interface PeerCred { pid: number; uid: number; gid: number }

function sockaddrUn(path: string): Uint8Array {
  const bytes = new TextEncoder().encode(path);
  if (bytes.length > 107) throw new UsageError(`socket path "${path}" is longer than 107 bytes`);
  const sa = new Uint8Array(SOCKADDR_UN_LEN);
  new DataView(sa.buffer).setUint16(0, AF_UNIX, true);
  sa.set(bytes, 2);
  return sa;
}

export function listenUnix(path: string, backlog = 512): number {
  const fd = check("socket", libc().socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  const sa = sockaddrUn(path);
  try {
    check("bind", libc().bind(fd, sa, sa.length), path);
    check("listen", libcUnix().listen(fd, backlog), path);
  } catch (e) {
    libc().close(fd);
    throw e;
  }
  return fd;
}

/** Accepts one pending connection, or returns -1 when none is waiting. */
export function acceptUnix(listenFd: number): number {
  const fd = libcUnix().accept4(listenFd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) return fd;
  const e = errno();
  if (e === EAGAIN || e === EINTR) return -1;
  throw syscallError("accept4", e);
}

/** Connects a blocking client socket. */
export function connectUnix(path: string): number {
  const fd = check("socket", libc().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const sa = sockaddrUn(path);
  if (libcUnix().connect(fd, sa, sa.length) < 0) {
    const e = errno();
    libc().close(fd);
    throw syscallError("connect", e, path);
  }
  return fd;
}

export function peerCred(fd: number): PeerCred {
  const { bytes, view } = alloc(ucred);
  const len = new Uint32Array([bytes.length]);
  check("getsockopt", libc().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, bytes, len), "SO_PEERCRED");
  return { pid: read(ucred, view, "pid"), uid: read(ucred, view, "uid"), gid: read(ucred, view, "gid") };
}

/**
 * Sends `data`, with `passFd` attached (SCM_RIGHTS) to the first byte when given. Blocking
 * sockets send it all; on a non-blocking one a short write returns the count sent.
 */
export function sendWithFd(fd: number, data: Uint8Array, passFd?: number): number {
  const io = alloc(iovec);
  const msg = alloc(msghdr);
  write(iovec, io.view, "iov_base", BigInt(ptr(data)));
  write(iovec, io.view, "iov_len", BigInt(data.length));
  write(msghdr, msg.view, "msg_iov", BigInt(ptr(io.bytes)));
  write(msghdr, msg.view, "msg_iovlen", 1n);
  let control: Uint8Array | null = null;
  if (passFd !== undefined) {
    const cab = new ArrayBuffer(CMSG_SPACE_INT); // views first, ptr() after (the `.buffer` pitfall)
    control = new Uint8Array(cab);
    const cv = new DataView(cab);
    write(cmsghdr, cv, "cmsg_len", BigInt(CMSG_LEN_INT));
    write(cmsghdr, cv, "cmsg_level", SOL_SOCKET);
    write(cmsghdr, cv, "cmsg_type", SCM_RIGHTS);
    cv.setInt32(cmsghdr.size, passFd, true);
    write(msghdr, msg.view, "msg_control", BigInt(ptr(control)));
    write(msghdr, msg.view, "msg_controllen", BigInt(control.length));
  }
  const MSG_NOSIGNAL = 0x4000; // a peer that hung up is an EPIPE error, never a SIGPIPE
  const n = Number(libcUnix().sendmsg(fd, msg.bytes, MSG_NOSIGNAL));
  if (n < 0) {
    const e = errno();
    if (e === EAGAIN) return 0;
    throw syscallError("sendmsg", e);
  }
  void data; void io; void control; // keep the buffers alive until here
  return n;
}

/** Receives into `buf`; returns bytes read (0 = peer closed, -1 = would block) and a passed fd if any. */
export function recvWithFd(fd: number, buf: Uint8Array, nonblocking: boolean): { n: number; fd: number | null } {
  const io = alloc(iovec);
  const msg = alloc(msghdr);
  const cab = new ArrayBuffer(CMSG_SPACE_INT);
  const control = new Uint8Array(cab);
  const cv = new DataView(cab);
  write(iovec, io.view, "iov_base", BigInt(ptr(buf)));
  write(iovec, io.view, "iov_len", BigInt(buf.length));
  write(msghdr, msg.view, "msg_iov", BigInt(ptr(io.bytes)));
  write(msghdr, msg.view, "msg_iovlen", 1n);
  write(msghdr, msg.view, "msg_control", BigInt(ptr(control)));
  write(msghdr, msg.view, "msg_controllen", BigInt(control.length));
  const n = Number(libcUnix().recvmsg(fd, msg.bytes, MSG_CMSG_CLOEXEC | (nonblocking ? MSG_DONTWAIT : 0)));
  if (n < 0) {
    const e = errno();
    if (e === EAGAIN || e === EINTR) return { n: -1, fd: null };
    throw syscallError("recvmsg", e);
  }
  const clen = Number(read(msghdr, msg.view, "msg_controllen"));
  let passed: number | null = null;
  if (clen >= CMSG_LEN_INT && read(cmsghdr, cv, "cmsg_level") === SOL_SOCKET && read(cmsghdr, cv, "cmsg_type") === SCM_RIGHTS) {
    passed = cv.getInt32(cmsghdr.size, true);
  }
  return { n, fd: passed };
}

export function closeFd(fd: number): void {
  if (fd >= 0) libc().close(fd);
}

/** Puts an inherited listening socket (systemd socket activation) into non-blocking mode. */
export function setNonblocking(fd: number): void {
  const F_GETFL = 3, F_SETFL = 4, O_NONBLOCK = 0o4000; // <asm-generic/fcntl.h>
  const flags = check("fcntl", libc().fcntl(fd, F_GETFL, 0), `fd ${fd}`);
  check("fcntl", libc().fcntl(fd, F_SETFL, flags | O_NONBLOCK), `fd ${fd}`);
}
