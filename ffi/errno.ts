/**
 * errno at the boundary: read it right after the failing call (before any other libc call can
 * overwrite it) and turn it into a SyscallError from one place.
 */
import { read } from "bun:ffi";
import { SyscallError } from "../src/core/errors.ts";
import { libc } from "./libc/load.ts";
import { OS } from "./libc/os.ts";

/** Linux errno numbers (<asm-generic/errno-base.h>, <asm-generic/errno.h>). */
const LINUX_ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 7: "E2BIG", 9: "EBADF",
  11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 14: "EFAULT", 16: "EBUSY", 17: "EEXIST", 19: "ENODEV",
  20: "ENOTDIR", 22: "EINVAL", 23: "ENFILE", 24: "EMFILE", 28: "ENOSPC", 32: "EPIPE", 34: "ERANGE",
  38: "ENOSYS", 61: "ENODATA", 71: "EPROTO", 75: "EOVERFLOW", 90: "EMSGSIZE", 93: "EPROTONOSUPPORT",
  95: "EOPNOTSUPP", 97: "EAFNOSUPPORT", 98: "EADDRINUSE", 99: "EADDRNOTAVAIL", 100: "ENETDOWN",
  101: "ENETUNREACH", 104: "ECONNRESET", 105: "ENOBUFS", 110: "ETIMEDOUT", 111: "ECONNREFUSED",
  113: "EHOSTUNREACH",
};
/** macOS errno numbers (xnu bsd/sys/errno.h), the ones vmlan meets. */
const DARWIN_ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 9: "EBADF", 12: "ENOMEM",
  13: "EACCES", 14: "EFAULT", 16: "EBUSY", 17: "EEXIST", 19: "ENODEV", 20: "ENOTDIR", 22: "EINVAL",
  23: "ENFILE", 24: "EMFILE", 28: "ENOSPC", 32: "EPIPE", 35: "EAGAIN", 38: "ENOTSOCK", 40: "EMSGSIZE",
  45: "ENOTSUP", 47: "EAFNOSUPPORT", 48: "EADDRINUSE", 49: "EADDRNOTAVAIL", 50: "ENETDOWN",
  51: "ENETUNREACH", 54: "ECONNRESET", 55: "ENOBUFS", 56: "EISCONN", 57: "ENOTCONN", 60: "ETIMEDOUT",
  61: "ECONNREFUSED", 65: "EHOSTUNREACH", 78: "ENOSYS", 102: "EOPNOTSUPP",
};
export const ERRNO_NAMES = process.platform === "darwin" ? DARWIN_ERRNO_NAMES : LINUX_ERRNO_NAMES;
/** The same names on both OSes; the numbers that differ come from the OS table (ffi/libc/os.ts). */
export const EPERM = 1, ENOENT = 2, EEXIST = 17, ENODEV = 19, EINVAL = 22;
export const EBADF = 9; // the same number on Linux and Darwin
export const EINTR = OS.errno.EINTR, EAGAIN = OS.errno.EAGAIN, ENOBUFS = OS.errno.ENOBUFS;
/** Linux numbers: only the Linux platform branches on these. */
export const EADDRNOTAVAIL = 99, EOPNOTSUPP = 95, ESRCH = 3;

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `E${errno}`;
}

/** The calling thread's errno. Call immediately after the failing libc call. */
export function errno(): number {
  const p = process.platform === "darwin" ? libc().__error() : libc().__errno_location();
  return p ? read.i32(p, 0) : 0;
}

export function syscallError(syscall: string, errnum: number, subject?: string): SyscallError {
  return new SyscallError(syscall, errnum, errnoName(errnum), subject);
}

/** Returns `ret` unless it is negative, in which case errno is read and a SyscallError thrown. */
export function check<T extends number | bigint>(syscall: string, ret: T, subject?: string): T {
  if (ret < 0) throw syscallError(syscall, errno(), subject);
  return ret;
}

/**
 * Calls `fn` until it does not fail with EINTR. Bounded at 100 tries: EINTR only means a signal
 * arrived during a blocking call, so a real endless stream of them is a bug elsewhere.
 */
export function retryEintr<T extends number | bigint>(syscall: string, fn: () => T, subject?: string): T {
  for (let i = 0; ; i++) {
    const ret = fn();
    if (ret >= 0) return ret;
    const e = errno();
    if (e !== EINTR || i >= 100) throw syscallError(syscall, e, subject);
  }
}
