/**
 * Unix stream sockets through bun:ffi, for what Bun's own sockets cannot do: peer credentials
 * (SO_PEERCRED on Linux, LOCAL_PEERCRED + LOCAL_PEERPID on macOS) and passing file descriptors
 * (SCM_RIGHTS). Non-blocking; the owner polls. Numbers and layouts per OS: ffi/libc/os.ts. No
 * node:fs here (a helper loads this before its request to the services daemon): a listener's
 * stale socket is stale-socket.ts's.
 */
import { ptr } from "bun:ffi";
import { libc } from "../../ffi/libc/load.ts";
import { POLLIN } from "../../ffi/libc/constants.ts";
import { libcUnix, LOCAL_PEERPID } from "../../ffi/libc/unix.ts";
import { OS, encodeSockaddrUn, sunPathMax } from "../../ffi/libc/os.ts";
import { emulateSocketFlags, fcntlInt } from "../../ffi/libc/variadic.ts";
import { alloc, write, read } from "../../ffi/layout.ts";
import { check, errno, syscallError, EAGAIN, EINTR } from "../../ffi/errno.ts";
import { UsageError } from "../core/errors.ts";

const { AF_UNIX, SOCK_STREAM, SOCK_NONBLOCK, SOCK_CLOEXEC, SOL_SOCKET, MSG_DONTWAIT, SCM_RIGHTS, MSG_CMSG_CLOEXEC, msghdr, iovec, cmsghdr } = OS;
const CMSG_LEN_INT = OS.cmsgLenInt;
const CMSG_SPACE_INT = OS.cmsgSpaceInt;

export interface PeerCred { pid: number; uid: number; gid: number }

function sockaddrUn(path: string): Uint8Array {
  const sa = encodeSockaddrUn(OS, path);
  if (!sa) throw new UsageError(`socket path "${path}" is longer than ${sunPathMax(OS)} bytes`);
  return sa;
}

/** macOS: no MSG_NOSIGNAL, so a peer that hung up must not raise SIGPIPE through the socket option. */
function noSigpipe(fd: number): void {
  if (OS.SO_NOSIGPIPE) libc().setsockopt(fd, SOL_SOCKET, OS.SO_NOSIGPIPE, new Int32Array([1]), 4);
}

export function listenUnix(path: string, backlog = 512): number {
  const fd = check("socket", libc().socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  const sa = sockaddrUn(path);
  try {
    emulateSocketFlags(fd, true, true);
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
  const darwin = OS.name === "darwin";
  const fd = darwin ? libcUnix().accept(listenFd, null, null) : libcUnix().accept4(listenFd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    if (darwin) {
      emulateSocketFlags(fd, true, true);
      noSigpipe(fd);
    }
    return fd;
  }
  const e = errno();
  if (e === EAGAIN || e === EINTR) return -1;
  throw syscallError(darwin ? "accept" : "accept4", e);
}

/** Connects a blocking client socket. */
export function connectUnix(path: string): number {
  const fd = check("socket", libc().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  emulateSocketFlags(fd, true, false);
  noSigpipe(fd);
  const sa = sockaddrUn(path);
  if (libcUnix().connect(fd, sa, sa.length) < 0) {
    const e = errno();
    libc().close(fd);
    throw syscallError("connect", e, path);
  }
  return fd;
}

export function peerCred(fd: number): PeerCred {
  const pc = OS.peerCred;
  const { bytes, view } = alloc(pc.layout);
  const len = new Uint32Array([bytes.length]);
  const name = OS.name === "darwin" ? "LOCAL_PEERCRED" : "SO_PEERCRED";
  check("getsockopt", libc().getsockopt(fd, pc.level, pc.optname, bytes, len), name);
  return decodePeerCred(view, pc.pidField ? undefined : peerPid(fd));
}

/** Pure: the credentials from a filled ucred (Linux) or xucred (macOS; gid = cr_groups[0]). */
export function decodePeerCred(view: DataView, pid?: number, os = OS): PeerCred {
  const pc = os.peerCred;
  const gid = view.getUint32(pc.layout.fields[pc.gidField]!.offset, true);
  return { pid: pc.pidField ? read(pc.layout, view, pc.pidField) : (pid ?? 0), uid: read(pc.layout, view, pc.uidField), gid };
}

/** macOS: getsockopt(SOL_LOCAL, LOCAL_PEERPID); 0 when unknown. */
function peerPid(fd: number): number {
  const v = new Int32Array(1);
  const len = new Uint32Array([4]);
  return libc().getsockopt(fd, OS.peerCred.level, LOCAL_PEERPID, v, len) === 0 ? v[0]! : 0;
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
  // A peer that hung up is an EPIPE error, never a SIGPIPE (macOS: SO_NOSIGPIPE on the socket).
  const n = Number(libcUnix().sendmsg(fd, msg.bytes, OS.MSG_NOSIGNAL));
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
    if (MSG_CMSG_CLOEXEC === 0) fcntlInt(passed, OS.F_SETFD, OS.FD_CLOEXEC);
  }
  return { n, fd: passed };
}

/** Whether `fd` became readable (or hung up) within `ms`: a blocking client's bound on waiting for a reply. */
export function waitReadable(fd: number, ms: number): boolean {
  const p = new Uint8Array(8); // struct pollfd: int fd, short events, short revents
  const view = new DataView(p.buffer);
  view.setInt32(0, fd, true);
  view.setInt16(4, POLLIN, true);
  return libc().poll(ptr(p), 1, ms) > 0;
}

export function closeFd(fd: number): void {
  if (fd >= 0) libc().close(fd);
}

/** Puts an inherited listening socket (systemd socket activation) into non-blocking mode. */
export function setNonblocking(fd: number): void {
  const flags = check("fcntl", fcntlInt(fd, OS.F_GETFL, 0), `fd ${fd}`);
  check("fcntl", fcntlInt(fd, OS.F_SETFL, flags | OS.O_NONBLOCK), `fd ${fd}`);
}
