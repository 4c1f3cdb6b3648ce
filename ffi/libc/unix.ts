/**
 * libc symbols for unix stream sockets with credentials and descriptor passing (the broker).
 * Data only; opened on first use. Signatures and numbers from socket(2), unix(7), cmsg(3).
 */
import { FFIType, type FFIFunction } from "bun:ffi";
import { lazyLibrary } from "../load.ts";
import { struct } from "../layout.ts";

const { i32, u32, ptr, i64_fast } = FFIType;

export const unixSymbols = {
  /** int listen(int fd, int backlog) — listen(2) */
  listen: { args: [i32, i32], returns: i32 },
  /** int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) — accept(2) */
  accept4: { args: [i32, ptr, ptr, i32], returns: i32 },
  /** int connect(int fd, const struct sockaddr *addr, socklen_t len) — connect(2) */
  connect: { args: [i32, ptr, u32], returns: i32 },
  /** ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) — sendmsg(2) */
  sendmsg: { args: [i32, ptr, i32], returns: i64_fast },
  /** ssize_t recvmsg(int fd, struct msghdr *msg, int flags) — recvmsg(2) */
  recvmsg: { args: [i32, ptr, i32], returns: i64_fast },
  /** int dup(int fd) — dup(2) */
  dup: { args: [i32], returns: i32 },
} as const satisfies Record<string, FFIFunction>;

export const libcUnix = lazyLibrary({ name: "libc", envVar: "VMLAN_LIBC_PATH", defaultPath: "libc.so.6", symbols: unixSymbols });

/** <bits/socket.h> struct ucred (SO_PEERCRED): 12 bytes. */
export const ucred = struct("ucred", [
  ["pid", "i32"],
  ["uid", "u32"],
  ["gid", "u32"],
]);

/** <bits/socket.h> struct cmsghdr header: 16 bytes on LP64 (cmsg_len is size_t); data follows. */
export const cmsghdr = struct("cmsghdr", [
  ["cmsg_len", "usize"],
  ["cmsg_level", "i32"],
  ["cmsg_type", "i32"],
]);

export const SO_PEERCRED = 17;
export const SCM_RIGHTS = 1;
/** CMSG_LEN(sizeof(int)) = 16 + 4; CMSG_SPACE(sizeof(int)) = 16 + 8 (aligned to size_t). */
export const CMSG_LEN_INT = 20;
export const CMSG_SPACE_INT = 24;
export const MSG_CMSG_CLOEXEC = 0x40000000;
/** <sys/un.h>: sa_family_t + sun_path[108]. */
export const SOCKADDR_UN_LEN = 110;
