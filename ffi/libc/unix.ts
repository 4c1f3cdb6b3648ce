/**
 * libc symbols for unix stream sockets with credentials and descriptor passing (the broker).
 * Data only; opened on first use. Signatures from socket(2), unix(7), cmsg(3). The numbers and
 * layouts that differ between Linux and macOS (ucred/xucred, cmsghdr, sockaddr_un) are in os.ts.
 */
import { FFIType, type FFIFunction } from "bun:ffi";
import { lazyLibrary } from "../load.ts";
import { OS } from "./os.ts";

const { i32, u32, ptr, i64_fast } = FFIType;

const common = {
  /** int listen(int fd, int backlog) — listen(2) */
  listen: { args: [i32, i32], returns: i32 },
  /** int connect(int fd, const struct sockaddr *addr, socklen_t len) — connect(2) */
  connect: { args: [i32, ptr, u32], returns: i32 },
  /** ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) — sendmsg(2) */
  sendmsg: { args: [i32, ptr, i32], returns: i64_fast },
  /** ssize_t recvmsg(int fd, struct msghdr *msg, int flags) — recvmsg(2) */
  recvmsg: { args: [i32, ptr, i32], returns: i64_fast },
  /** int dup(int fd) — dup(2) */
  dup: { args: [i32], returns: i32 },
} as const satisfies Record<string, FFIFunction>;

export const linuxUnixSymbols = {
  ...common,
  /** int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) — accept(2); Linux only */
  accept4: { args: [i32, ptr, ptr, i32], returns: i32 },
} as const satisfies Record<string, FFIFunction>;

export const darwinUnixSymbols = {
  ...common,
  /** int accept(int fd, struct sockaddr *addr, socklen_t *len) — accept(2); macOS has no accept4 */
  accept: { args: [i32, ptr, ptr], returns: i32 },
} as const satisfies Record<string, FFIFunction>;

/** Both tables' symbols in the type; only this OS's are bound (see ffi/libc/load.ts). */
export const libcUnix = lazyLibrary({
  name: "libc",
  envVar: "VMLAN_LIBC_PATH",
  defaultPath: OS.libcPath,
  symbols: (process.platform === "darwin" ? darwinUnixSymbols : linuxUnixSymbols) as typeof linuxUnixSymbols & typeof darwinUnixSymbols,
});

/** macOS <sys/un.h>: getsockopt(SOL_LOCAL, LOCAL_PEERPID) gives the peer's pid as an int. */
export const LOCAL_PEERPID = 0x002;
