/**
 * libc symbols the per-VM helper needs beyond ffi/libc/symbols.ts (kept separate so the shared table
 * stays owned by the platform code). Data only; opened on first use like every library here.
 * Signatures from the Linux man pages (section 2/3) for glibc x86-64/arm64.
 */
import { FFIType, type FFIFunction } from "bun:ffi";
import { lazyLibrary } from "../load.ts";

const { i32, u32, ptr } = FFIType;

export const datapathSymbols = {
  /** int connect(int fd, const struct sockaddr *addr, socklen_t len) — connect(2) */
  connect: { args: [i32, ptr, u32], returns: i32 },
  /** int flock(int fd, int operation) — flock(2) */
  flock: { args: [i32, i32], returns: i32 },
  /** int usleep(useconds_t usec) — usleep(3): the 50 µs retry pause toward the VM */
  usleep: { args: [u32], returns: i32 },
  /** int shutdown(int fd, int how) — shutdown(2) */
  shutdown: { args: [i32, i32], returns: i32 },
} as const satisfies Record<string, FFIFunction>;

export const libcDatapath = lazyLibrary({
  name: "libc",
  envVar: "VMLAN_LIBC_PATH",
  defaultPath: "libc.so.6",
  symbols: datapathSymbols,
});

// <sys/file.h>
export const LOCK_EX = 2;
export const LOCK_NB = 4;
// <fcntl.h>
export const F_GETFL = 3;
export const F_SETFL = 4;
// <sys/un.h>: struct sockaddr_un is sa_family_t (2 bytes) + sun_path[108].
export const SOCKADDR_UN_SIZE = 110;
export const SUN_PATH_MAX = 107;
// <bits/socket.h>
export const MSG_PEEK = 0x2;
/** <asm-generic/errno.h> numbers the datapath branches on (ffi/errno.ts has the common ones). */
export const ECONNREFUSED = 111;
export const ECONNRESET = 104;
export const ENOTCONN = 107;
export const EPIPE = 32;
export const EWOULDBLOCK = 11;
export const EMSGSIZE = 90;
