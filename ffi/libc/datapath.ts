/**
 * libc symbols the per-VM helper needs beyond ffi/libc/symbols.ts (kept separate so the shared table
 * stays owned by the platform code). Data only; opened on first use like every library here.
 * Signatures from the Linux man pages (section 2/3) for glibc x86-64/arm64.
 */
import { FFIType, type FFIFunction } from "bun:ffi";
import { lazyLibrary } from "../load.ts";
import { OS, sunPathMax } from "./os.ts";

const { i32, u32, ptr } = FFIType;

export const datapathSymbols = {
  /** int connect(int fd, const struct sockaddr *addr, socklen_t len) — connect(2) */
  connect: { args: [i32, ptr, u32], returns: i32 },
  /** int flock(int fd, int operation) — flock(2) */
  flock: { args: [i32, i32], returns: i32 },
  /** int usleep(useconds_t usec) — usleep(3): the 50 µs retry pause toward the VM */
  usleep: { args: [u32], returns: i32 },
  /** int getpeername(int fd, struct sockaddr *addr, socklen_t *len) — getpeername(2): ENOTCONN when not connected */
  getpeername: { args: [i32, ptr, ptr], returns: i32 },
  /** int shutdown(int fd, int how) — shutdown(2) */
  shutdown: { args: [i32, i32], returns: i32 },
} as const satisfies Record<string, FFIFunction>;

export const libcDatapath = lazyLibrary({
  name: "libc",
  envVar: "VMLAN_LIBC_PATH",
  defaultPath: OS.libcPath,
  symbols: datapathSymbols,
});

// The numbers that differ per OS come from ffi/libc/os.ts (Linux values unchanged).
export const LOCK_EX = OS.LOCK_EX;
export const LOCK_NB = OS.LOCK_NB;
export const F_GETFL = OS.F_GETFL;
export const F_SETFL = OS.F_SETFL;
/** struct sockaddr_un: 110 bytes on Linux, 106 on macOS; the longest path keeps its NUL. */
export const SOCKADDR_UN_SIZE = OS.sockaddrUn.size;
export const SUN_PATH_MAX = sunPathMax(OS);
export const MSG_PEEK = OS.MSG_PEEK;
/** errno numbers the datapath branches on (ffi/errno.ts has the common ones). */
export const ECONNREFUSED = OS.errno.ECONNREFUSED;
export const ECONNRESET = OS.errno.ECONNRESET;
export const ENOTCONN = OS.errno.ENOTCONN;
export const EPIPE = OS.errno.EPIPE;
export const EWOULDBLOCK = OS.errno.EAGAIN;
export const EMSGSIZE = OS.errno.EMSGSIZE;
