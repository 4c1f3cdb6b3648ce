/**
 * The numbers and layouts that differ between Linux (glibc, LP64) and macOS (libSystem, LP64), as one
 * table per OS, selected in ONE place (`OS`, from process.platform). The datapath ports, errno.ts and
 * the unix-socket helpers read these; everything Linux-only (netlink, TAP ioctls) stays in constants.ts.
 *
 * Darwin values are from the macOS SDK headers as published in xnu (quoted via darlinghq/darling
 * kernel-include/bsd/sys/socket.h, a copy of xnu's): SOCK_STREAM 1, SOCK_DGRAM 2, SOL_SOCKET 0xffff,
 * SO_SNDBUF 0x1001, SO_RCVBUF 0x1002, SO_TYPE 0x1008, SO_NOSIGPIPE 0x1022, AF_UNIX 1, MSG_PEEK 0x2, MSG_TRUNC 0x10,
 * MSG_DONTWAIT 0x80, SCM_RIGHTS 0x01, `struct msghdr` {void*; socklen_t; iovec*; int msg_iovlen; void*;
 * socklen_t msg_controllen; int} = 48 bytes, `struct msghdr_x` = msghdr + size_t msg_datalen (PRIVATE,
 * 56 bytes), `struct cmsghdr` {socklen_t; int; int} = 12 bytes with CMSG_SPACE/CMSG_LEN aligned by
 * __DARWIN_ALIGN32 (4 bytes). bsd/sys/errno.h: EINTR 4, EPIPE 32, EAGAIN 35, EMSGSIZE 40, ECONNRESET 54,
 * ENOBUFS 55, ENOTCONN 57, ECONNREFUSED 61. bsd/sys/fcntl.h: O_NONBLOCK 0x4, O_CREAT 0x200,
 * O_CLOEXEC 0x01000000, F_GETFD 1, F_SETFD 2, F_GETFL 3, F_SETFL 4, FD_CLOEXEC 1. sys/file.h: LOCK_EX 2,
 * LOCK_NB 4. poll.h: POLLIN 1, POLLERR 8, POLLHUP 0x10. bsd/sys/un.h: sockaddr_un {u8 sun_len;
 * sa_family_t (u8) sun_family; char sun_path[104]} = 106 bytes, SOL_LOCAL 0, LOCAL_PEERCRED 0x001,
 * LOCAL_PEERPID 0x002. bsd/sys/ucred.h: struct xucred {u_int cr_version; uid_t cr_uid; short cr_ngroups;
 * gid_t cr_groups[16]} = 76 bytes, XUCRED_VERSION 0. Darwin has no SOCK_CLOEXEC/SOCK_NONBLOCK,
 * MSG_NOSIGNAL, MSG_CMSG_CLOEXEC or accept4: their entries are 0 and callers use fcntl/SO_NOSIGPIPE.
 */
import { array, struct, type Layout } from "../layout.ts";

export type LibcOsName = "linux" | "darwin";

export interface LibcOs {
  readonly name: LibcOsName;
  readonly libcPath: string;
  /** How recv/send batches are made: Linux recvmmsg/sendmmsg; Darwin recvmsg_x/sendmsg_x (native-facts §A 5.5). */
  readonly batch: "mmsg" | "msg_x";
  readonly AF_UNIX: number; readonly SOCK_STREAM: number; readonly SOCK_DGRAM: number;
  /** 0 where the OS has no such socket() flag: set FD_CLOEXEC / O_NONBLOCK with fcntl instead. */
  readonly SOCK_CLOEXEC: number; readonly SOCK_NONBLOCK: number;
  readonly SOL_SOCKET: number; readonly SO_SNDBUF: number; readonly SO_RCVBUF: number; readonly SO_TYPE: number;
  /** Darwin only (0 on Linux, which uses MSG_NOSIGNAL per call). */
  readonly SO_NOSIGPIPE: number;
  readonly MSG_PEEK: number; readonly MSG_TRUNC: number; readonly MSG_DONTWAIT: number;
  readonly MSG_NOSIGNAL: number; readonly MSG_CMSG_CLOEXEC: number;
  readonly SCM_RIGHTS: number;
  readonly O_RDONLY: number; readonly O_NONBLOCK: number; readonly O_CLOEXEC: number; readonly O_CREAT: number;
  readonly F_GETFD: number; readonly F_SETFD: number; readonly F_GETFL: number; readonly F_SETFL: number; readonly FD_CLOEXEC: number;
  readonly LOCK_EX: number; readonly LOCK_NB: number;
  readonly POLLIN: number; readonly POLLERR: number; readonly POLLHUP: number;
  readonly errno: { readonly EINTR: number; readonly EPIPE: number; readonly EAGAIN: number; readonly EMSGSIZE: number; readonly ECONNRESET: number; readonly ENOBUFS: number; readonly ENOTCONN: number; readonly ECONNREFUSED: number };
  readonly iovec: Layout;
  readonly msghdr: Layout;
  /** One batch entry: mmsghdr (Linux) or msghdr_x (Darwin); `batchLenField` is the received length. */
  readonly batchHdr: Layout;
  readonly batchLenField: string;
  readonly cmsghdr: Layout;
  /** CMSG_LEN(sizeof(int)) and CMSG_SPACE(sizeof(int)): one passed fd. */
  readonly cmsgLenInt: number; readonly cmsgSpaceInt: number;
  readonly sockaddrUn: Layout;
  /** Peer credentials of a unix stream socket: getsockopt(level, optname) into `layout`. */
  readonly peerCred: { readonly level: number; readonly optname: number; readonly layout: Layout; readonly uidField: string; readonly gidField: string; readonly pidField?: string };
}

const iovec = struct("iovec", [["iov_base", "ptr"], ["iov_len", "usize"]]);

/** <bits/socket.h> struct msghdr: 56 bytes (msg_iovlen and msg_controllen are size_t). */
const linuxMsghdr = struct("msghdr", [
  ["msg_name", "ptr"], ["msg_namelen", "u32"], ["msg_iov", "ptr"], ["msg_iovlen", "usize"],
  ["msg_control", "ptr"], ["msg_controllen", "usize"], ["msg_flags", "i32"],
]);

/** <sys/socket.h> (xnu): struct msghdr, 48 bytes (msg_iovlen int, msg_controllen socklen_t). */
const darwinMsghdr = struct("msghdr", [
  ["msg_name", "ptr"], ["msg_namelen", "u32"], ["msg_iov", "ptr"], ["msg_iovlen", "i32"],
  ["msg_control", "ptr"], ["msg_controllen", "u32"], ["msg_flags", "i32"],
]);

export const LINUX: LibcOs = {
  name: "linux",
  libcPath: "libc.so.6",
  batch: "mmsg",
  AF_UNIX: 1, SOCK_STREAM: 1, SOCK_DGRAM: 2, SOCK_CLOEXEC: 0o2000000, SOCK_NONBLOCK: 0o4000,
  SOL_SOCKET: 1, SO_SNDBUF: 7, SO_RCVBUF: 8, SO_TYPE: 3, SO_NOSIGPIPE: 0,
  MSG_PEEK: 0x2, MSG_TRUNC: 0x20, MSG_DONTWAIT: 0x40, MSG_NOSIGNAL: 0x4000, MSG_CMSG_CLOEXEC: 0x40000000,
  SCM_RIGHTS: 1,
  O_RDONLY: 0, O_NONBLOCK: 0o4000, O_CLOEXEC: 0o2000000, O_CREAT: 0o100,
  F_GETFD: 1, F_SETFD: 2, F_GETFL: 3, F_SETFL: 4, FD_CLOEXEC: 1, LOCK_EX: 2, LOCK_NB: 4,
  POLLIN: 0x1, POLLERR: 0x8, POLLHUP: 0x10,
  errno: { EINTR: 4, EPIPE: 32, EAGAIN: 11, EMSGSIZE: 90, ECONNRESET: 104, ENOBUFS: 105, ENOTCONN: 107, ECONNREFUSED: 111 },
  iovec,
  msghdr: linuxMsghdr,
  /** <sys/socket.h> struct mmsghdr: 64 bytes (msghdr + unsigned msg_len, padded). */
  batchHdr: struct("mmsghdr", [["msg_hdr", linuxMsghdr], ["msg_len", "u32"]]),
  batchLenField: "msg_len",
  /** 16 bytes on LP64 (cmsg_len is size_t); CMSG_SPACE aligns to size_t. */
  cmsghdr: struct("cmsghdr", [["cmsg_len", "usize"], ["cmsg_level", "i32"], ["cmsg_type", "i32"]]),
  cmsgLenInt: 20, cmsgSpaceInt: 24,
  /** <sys/un.h>: sa_family_t + sun_path[108] = 110 bytes. */
  sockaddrUn: struct("sockaddr_un", [["sun_family", "u16"], ["sun_path", array("u8", 108)]]),
  /** SO_PEERCRED (17) at SOL_SOCKET: struct ucred {pid_t pid; uid_t uid; gid_t gid} = 12 bytes. */
  peerCred: { level: 1, optname: 17, layout: struct("ucred", [["pid", "i32"], ["uid", "u32"], ["gid", "u32"]]), uidField: "uid", gidField: "gid", pidField: "pid" },
};

export const DARWIN: LibcOs = {
  name: "darwin",
  libcPath: "/usr/lib/libSystem.B.dylib",
  batch: "msg_x",
  AF_UNIX: 1, SOCK_STREAM: 1, SOCK_DGRAM: 2, SOCK_CLOEXEC: 0, SOCK_NONBLOCK: 0,
  SOL_SOCKET: 0xffff, SO_SNDBUF: 0x1001, SO_RCVBUF: 0x1002, SO_TYPE: 0x1008, SO_NOSIGPIPE: 0x1022,
  MSG_PEEK: 0x2, MSG_TRUNC: 0x10, MSG_DONTWAIT: 0x80, MSG_NOSIGNAL: 0, MSG_CMSG_CLOEXEC: 0,
  SCM_RIGHTS: 1,
  O_RDONLY: 0, O_NONBLOCK: 0x4, O_CLOEXEC: 0x01000000, O_CREAT: 0x200,
  F_GETFD: 1, F_SETFD: 2, F_GETFL: 3, F_SETFL: 4, FD_CLOEXEC: 1, LOCK_EX: 2, LOCK_NB: 4,
  POLLIN: 0x1, POLLERR: 0x8, POLLHUP: 0x10,
  errno: { EINTR: 4, EPIPE: 32, EAGAIN: 35, EMSGSIZE: 40, ECONNRESET: 54, ENOBUFS: 55, ENOTCONN: 57, ECONNREFUSED: 61 },
  iovec,
  msghdr: darwinMsghdr,
  /** struct msghdr_x (bsd/sys/socket.h, PRIVATE): the msghdr fields + size_t msg_datalen = 56 bytes. */
  batchHdr: struct("msghdr_x", [["msg_hdr", darwinMsghdr], ["msg_datalen", "usize"]]),
  batchLenField: "msg_datalen",
  /** 12 bytes; CMSG_LEN(4) = 12 + 4, CMSG_SPACE(4) = 12 + 4 (4-byte __DARWIN_ALIGN32). */
  cmsghdr: struct("cmsghdr", [["cmsg_len", "u32"], ["cmsg_level", "i32"], ["cmsg_type", "i32"]]),
  cmsgLenInt: 16, cmsgSpaceInt: 16,
  sockaddrUn: struct("sockaddr_un", [["sun_len", "u8"], ["sun_family", "u8"], ["sun_path", array("u8", 104)]]),
  /** LOCAL_PEERCRED at SOL_LOCAL: struct xucred (76 bytes); the pid comes from LOCAL_PEERPID (0x002). */
  peerCred: {
    level: 0, optname: 0x001,
    layout: struct("xucred", [["cr_version", "u32"], ["cr_uid", "u32"], ["cr_ngroups", "i16"], ["cr_groups", array("u32", 16)]]),
    uidField: "cr_uid", gidField: "cr_groups",
  },
};

/** The table for `platform` (a process.platform value); the override for tests is the argument. */
export function selectLibcOs(platform: string): LibcOs {
  return platform === "darwin" ? DARWIN : LINUX;
}

/**
 * This process's table: the one place the datapath's libc numbers are chosen. The literal compare
 * (habit 3) lets a compiled Linux binary fold it to LINUX.
 */
export const OS: LibcOs = process.platform === "darwin" ? DARWIN : LINUX;

/** Longest path a sockaddr_un holds, keeping the terminating NUL. */
export function sunPathMax(os: LibcOs): number {
  return os.sockaddrUn.fields["sun_path"]!.size - 1;
}

/** Encodes a sockaddr_un for `os` (Darwin also sets sun_len); null when the path does not fit. */
export function encodeSockaddrUn(os: LibcOs, path: string): Uint8Array | null {
  const enc = new TextEncoder().encode(path);
  if (enc.length > sunPathMax(os)) return null;
  const sa = new Uint8Array(os.sockaddrUn.size);
  const pathOff = os.sockaddrUn.fields["sun_path"]!.offset;
  if (os.name === "darwin") {
    sa[0] = os.sockaddrUn.size; // sun_len: the whole struct, as SUN_LEN-style callers commonly pass
    sa[1] = os.AF_UNIX;
  } else new DataView(sa.buffer).setUint16(0, os.AF_UNIX, true);
  sa.set(enc, pathOff);
  return sa;
}
