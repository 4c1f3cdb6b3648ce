/**
 * `vmlan _child --pdeathsig PID -- PROGRAM ARGV...` on Linux: what `vmlan run` and a foreground `vm
 * run` start in place of the VM command (issue #12 item 11). It asks the kernel for SIGKILL when its
 * parent dies (PR_SET_PDEATHSIG, kept across execve of a program that is not set-uid; prctl(2)),
 * checks that the parent is still PID (it may have died before the prctl), keeps the fds it was given
 * open across exec, restores the two signals
 * Bun ignores (SIGPIPE, SIGXFSZ: execve would pass "ignored" on to the command), and execs PROGRAM
 * with this environment, so the command keeps this pid, these fds and this parent.
 * The kernel's "parent" is the thread that forked: the supervisors spawn from their main JS thread,
 * which lives until they exit (test/integration/helper/lifetime.test.ts checks both sides of that).
 */
import { ptr } from "bun:ffi";
import { errno, errnoName } from "../../ffi/errno.ts";
import { PR_SET_PDEATHSIG, SIGKILL, SIGPIPE, SIGXFSZ, SIG_DFL, libcProcess } from "../../ffi/libc/process.ts";
import { OS } from "../../ffi/libc/os.ts";
import { fcntlInt } from "../../ffi/libc/variadic.ts";

/** NUL-terminated strings and the NULL-terminated pointer array execve wants; `keep` holds the buffers alive. */
export function cArray(items: string[], keep: Buffer[]): BigUint64Array {
  const arr = new BigUint64Array(items.length + 1);
  items.forEach((s, i) => {
    const b = Buffer.from(`${s}\0`);
    keep.push(b);
    arr[i] = BigInt(ptr(b));
  });
  return arr;
}

/** This process's environment as execve's envp ("K=V" strings); `keep` holds the buffers alive. */
export function cEnvironment(keep: Buffer[]): BigUint64Array {
  return cArray(Object.entries(process.env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`])), keep);
}

/**
 * Never returns on success; on failure prints one line and exits 127 (as a shell does). `fds`: how
 * many fds from 3 on the command inherits. Bun marks every fd from 4 on close-on-exec when it starts
 * (close_range(4, ~0, CLOSE_RANGE_CLOEXEC), seen with strace), so those are cleared here.
 */
export function execWithParentDeath(parentPid: number, fds: number, program: string, argv: string[]): never {
  const c = libcProcess();
  for (let fd = 3; fd < 3 + fds; fd++) fcntlInt(fd, OS.F_SETFD, fcntlInt(fd, OS.F_GETFD, 0) & ~OS.FD_CLOEXEC);
  if (c.prctl(PR_SET_PDEATHSIG, BigInt(SIGKILL), 0n, 0n, 0n) !== 0) {
    process.stderr.write(`vmlan: prctl(PR_SET_PDEATHSIG) failed: ${errnoName(errno())}\n`);
    process.exit(127);
  }
  if (c.getppid() !== parentPid) process.exit(137); // the supervisor died before we could ask: so does the command
  c.signal(SIGPIPE, SIG_DFL);
  c.signal(SIGXFSZ, SIG_DFL);
  const keep: Buffer[] = [];
  const path = Buffer.from(`${program}\0`);
  const av = cArray(argv, keep);
  const ev = cEnvironment(keep);
  c.execve(path, av, ev);
  const e = errno();
  process.stderr.write(`vmlan: cannot run ${JSON.stringify(program)}: ${errnoName(e)}\n`);
  process.exit(127);
}
