/**
 * How a supervisor (`vmlan run`, a foreground `vm run`) starts the VM side so that it cannot outlive
 * the supervisor (issue #12 item 11): through `vmlan _child`, which on Linux execs the command with
 * PR_SET_PDEATHSIG = SIGKILL (exec-child.ts), and elsewhere stays in between as the watcher of a
 * socketpair the supervisor holds (watch-child.ts). Spawn the returned argv from the main thread:
 * the kernel's parent-death signal follows the thread that forked.
 */
import { libc } from "../../ffi/libc/load.ts";
import { OS } from "../../ffi/libc/os.ts";
import { check } from "../../ffi/errno.ts";
import { emulateSocketFlags } from "../../ffi/libc/variadic.ts";

export interface ChildCommand {
  /** The argv to spawn (argv[0] of the command is passed on as written). */
  argv: string[];
  /** Extra fds to append to the child's stdio array, after the command's own (the watcher's socket). */
  extraFds: number[];
  /** Closes this process's copies once the child runs; the watcher's other end stays until exit. */
  spawned(): void;
}

/**
 * `self`: how to run this vmlan again; `program`: the resolved executable; `argv`: the command as
 * written; `nextFd`: the first fd after the command's own inherited ones (3 + their count).
 */
export function childCommand(self: string[], program: string, argv: string[], nextFd: number, os = process.platform): ChildCommand {
  if (os === "linux") {
    const fds = String(nextFd - 3);
    return { argv: [...self, "_child", "--pdeathsig", String(process.pid), "--fds", fds, "--", program, ...argv], extraFds: [], spawned: () => {} };
  }
  // The supervisor keeps `mine` (close-on-exec, so no other child inherits it) until it exits.
  const sv = new Int32Array(2);
  check("socketpair", libc().socketpair(OS.AF_UNIX, OS.SOCK_STREAM | OS.SOCK_CLOEXEC, 0, sv), "AF_UNIX SOCK_STREAM");
  const [mine, theirs] = [sv[0]!, sv[1]!];
  emulateSocketFlags(mine, true, false);
  emulateSocketFlags(theirs, true, false);
  return {
    argv: [...self, "_child", "--watch", String(nextFd), "--", program, ...argv],
    extraFds: [theirs],
    spawned: () => void libc().close(theirs),
  };
}
