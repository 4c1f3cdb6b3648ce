/**
 * libc calls for process lifetimes (src/process/), data only. Signatures from the Linux man pages:
 * execve(2), getppid(2), signal(2), dup2(2), strerror(3), prctl(2); macOS has all but prctl, with the
 * same C signatures. sighandler_t is a pointer; SIG_DFL is 0 on both (<signal.h>), passed as an integer.
 */
import { FFIType, type FFIFunction } from "bun:ffi";
import { lazyLibrary } from "../load.ts";
import { OS } from "./os.ts";

const { i32, u64, ptr, cstring } = FFIType;

export const processSymbols = {
  /** int execve(const char *path, char *const argv[], char *const envp[]) — returns only on failure */
  execve: { args: [ptr, ptr, ptr], returns: i32 },
  /** pid_t getppid(void) */
  getppid: { args: [], returns: i32 },
  /** sighandler_t signal(int sig, sighandler_t handler) */
  signal: { args: [i32, u64], returns: u64 },
  /** int dup2(int oldfd, int newfd) — dup2(2); the new fd is not close-on-exec (socket_vmnet_client's fd 3) */
  dup2: { args: [i32, i32], returns: i32 },
  /** char *strerror(int errnum) — strerror(3): the C library's text for an errno, as C programs print it */
  strerror: { args: [i32], returns: cstring },
} as const satisfies Record<string, FFIFunction>;

export const linuxProcessSymbols = {
  ...processSymbols,
  /** int prctl(int option, unsigned long arg2, arg3, arg4, arg5) — variadic in glibc, integer arguments (ABI-safe on LP64) */
  prctl: { args: [i32, u64, u64, u64, u64], returns: i32 },
} as const satisfies Record<string, FFIFunction>;

export const libcProcess = lazyLibrary({
  name: "libc",
  envVar: "VMLAN_LIBC_PATH",
  defaultPath: OS.libcPath,
  // Only Linux has prctl; binding a missing symbol would fail the whole dlopen on macOS.
  symbols: (process.platform === "linux" ? linuxProcessSymbols : processSymbols) as typeof linuxProcessSymbols,
});

/** <linux/prctl.h> */
export const PR_SET_PDEATHSIG = 1;
/** Signal numbers equal on Linux and macOS. */
export const SIGKILL = 9, SIGPIPE = 13, SIGTERM = 15, SIGXFSZ = 25;
export const SIG_DFL = 0n;
