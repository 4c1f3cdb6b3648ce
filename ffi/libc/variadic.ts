/**
 * fcntl(2) and open(2) with their variadic third argument. Linux (x86-64, arm64) and macOS x86-64 pass
 * a variadic integer like a named one, so the plain 3-argument binding in symbols.ts is right there.
 * Apple arm64 passes variadic arguments on the stack (Apple's "Writing ARM64 code for Apple platforms":
 * named arguments in x0-x7, variadic ones in 8-byte stack slots), so the plain binding would hand
 * fcntl/open garbage. There the functions are bound with six unused register arguments (x2-x7) so that
 * the real argument is the first stack slot, where the callee reads it. Unverified without a Mac
 * (scripts/verify-macos.sh: the datapath tests set O_NONBLOCK and FD_CLOEXEC through it).
 */
import { FFIType, type FFIFunction } from "bun:ffi";
import { lazyLibrary } from "../load.ts";
import { libc } from "./load.ts";
import { OS, type LibcOs } from "./os.ts";

const { i32, i64, cstring } = FFIType;
const PAD = [i64, i64, i64, i64, i64, i64] as const;

export const appleArm64VariadicSymbols = {
  /** int fcntl(int fd, int cmd, ...) — x0 fd, x1 cmd, x2-x7 unused, [sp] the int argument */
  fcntl: { args: [i32, i32, ...PAD, i64], returns: i32 },
  /** int open(const char *path, int flags, ...) — x0 path, x1 flags, x2-x7 unused, [sp] mode_t */
  open: { args: [cstring, i32, ...PAD, i64], returns: i32 },
} as const satisfies Record<string, FFIFunction>;

const appleArm64 = lazyLibrary({ name: "libc (variadic)", envVar: "VMLAN_LIBC_PATH", defaultPath: OS.libcPath, symbols: appleArm64VariadicSymbols });

/** True when variadic arguments go on the stack (macOS on Apple silicon). */
export function variadicOnStack(os: LibcOs = OS, arch: string = process.arch): boolean {
  return os.name === "darwin" && arch === "arm64";
}

export function fcntlInt(fd: number, cmd: number, arg: number): number {
  if (variadicOnStack()) return appleArm64().fcntl(fd, cmd, 0, 0, 0, 0, 0, 0, arg);
  return libc().fcntl(fd, cmd, arg);
}

export function openMode(path: string, flags: number, mode: number): number {
  const p = Buffer.from(`${path}\0`);
  if (variadicOnStack()) return appleArm64().open(p, flags, 0, 0, 0, 0, 0, 0, mode);
  return libc().open(p, flags, mode);
}

/** socket(2)'s SOCK_CLOEXEC / SOCK_NONBLOCK where the OS has none (Darwin): the same flags by fcntl. */
export function emulateSocketFlags(fd: number, cloexec: boolean, nonblock: boolean, os: LibcOs = OS): void {
  if (cloexec && os.SOCK_CLOEXEC === 0) fcntlInt(fd, os.F_SETFD, os.FD_CLOEXEC);
  if (nonblock && os.SOCK_NONBLOCK === 0) fcntlInt(fd, os.F_SETFL, fcntlInt(fd, os.F_GETFL, 0) | os.O_NONBLOCK);
}
