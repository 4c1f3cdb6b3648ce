/**
 * errno at the boundary: read it right after the failing call (before any other libc call can
 * overwrite it) and turn it into a SyscallError from one place.
 */
import { read } from "bun:ffi";
import { SyscallError } from "../src/core/errors.ts";
import { libc } from "./libc/load.ts";

/** Linux errno numbers (<asm-generic/errno-base.h>, <asm-generic/errno.h>). */
export const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 7: "E2BIG", 9: "EBADF",
  11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 14: "EFAULT", 16: "EBUSY", 17: "EEXIST", 19: "ENODEV",
  20: "ENOTDIR", 22: "EINVAL", 23: "ENFILE", 24: "EMFILE", 28: "ENOSPC", 32: "EPIPE", 34: "ERANGE",
  38: "ENOSYS", 61: "ENODATA", 71: "EPROTO", 75: "EOVERFLOW", 90: "EMSGSIZE", 93: "EPROTONOSUPPORT",
  95: "EOPNOTSUPP", 97: "EAFNOSUPPORT", 98: "EADDRINUSE", 99: "EADDRNOTAVAIL", 100: "ENETDOWN",
  101: "ENETUNREACH", 104: "ECONNRESET", 105: "ENOBUFS", 110: "ETIMEDOUT", 111: "ECONNREFUSED",
  113: "EHOSTUNREACH",
};
export const EPERM = 1, ENOENT = 2, EINTR = 4, EAGAIN = 11, EEXIST = 17, ENODEV = 19, EINVAL = 22;
export const EADDRNOTAVAIL = 99, ENOBUFS = 105, EOPNOTSUPP = 95;

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `E${errno}`;
}

/** The calling thread's errno. Call immediately after the failing libc call. */
export function errno(): number {
  const p = libc().__errno_location();
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
