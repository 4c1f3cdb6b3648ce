/**
 * The few libc calls a CNI plugin process makes to hand its call to the services daemon
 * (src/platform/linux/plugin-call.ts): data only, Linux (glibc x86-64/arm64), a table of its own.
 * A plugin process starts for each call, and what it imports costs it: symbols.ts and os.ts (both
 * OSes' tables and layouts, built at import) cost ~0.4 ms of an ADD, so the signatures, as
 * symbols.ts and unix.ts have them, and the numbers, as os.ts has them, are repeated here.
 */
import { FFIType, type FFIFunction } from "bun:ffi";
import { lazyLibrary } from "../load.ts";

const { i32, u32, ptr, i64_fast } = FFIType;
/** size_t on LP64 */
const usize = FFIType.u64;

export const pluginSymbols = {
  /** ssize_t read(int fd, void *buf, size_t n) — read(2) */
  read: { args: [i32, ptr, usize], returns: i64_fast },
  /** ssize_t write(int fd, const void *buf, size_t n) — write(2) */
  write: { args: [i32, ptr, usize], returns: i64_fast },
  /** int socket(int domain, int type, int protocol) — socket(2) */
  socket: { args: [i32, i32, i32], returns: i32 },
  /** int connect(int fd, const struct sockaddr *addr, socklen_t len) — connect(2) */
  connect: { args: [i32, ptr, u32], returns: i32 },
  /** ssize_t send(int fd, const void *buf, size_t len, int flags) — send(2) */
  send: { args: [i32, ptr, usize, i32], returns: i64_fast },
  /** ssize_t recv(int fd, void *buf, size_t len, int flags) — recv(2) */
  recv: { args: [i32, ptr, usize, i32], returns: i64_fast },
  /** int setsockopt(int fd, int level, int name, const void *val, socklen_t len) — setsockopt(2) */
  setsockopt: { args: [i32, i32, i32, ptr, u32], returns: i32 },
} as const satisfies Record<string, FFIFunction>;

export const libcPlugin = lazyLibrary({ name: "libc", envVar: "VMLAN_LIBC_PATH", defaultPath: "libc.so.6", symbols: pluginSymbols });

/** <bits/socket.h>, <asm-generic/socket.h> (Linux): as os.ts's LINUX table. */
export const AF_UNIX = 1, SOCK_STREAM = 1, SOCK_CLOEXEC = 0o2000000, SOL_SOCKET = 1, MSG_NOSIGNAL = 0x4000;
/** SO_RCVTIMEO (SO_RCVTIMEO_OLD on LP64): a struct timeval {long tv_sec; long tv_usec}, 16 bytes. */
export const SO_RCVTIMEO = 20;
/** <sys/un.h> struct sockaddr_un: sa_family_t (u16) + char sun_path[108] = 110 bytes. */
export const SOCKADDR_UN_SIZE = 110;
