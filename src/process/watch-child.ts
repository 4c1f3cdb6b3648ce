/**
 * `vmlan _child --watch FD -- PROGRAM ARGV...`: where the kernel has no parent-death signal (macOS),
 * a watcher stays between the supervisor and the VM command (issue #12 item 11). It starts the
 * command with its own fds 0 to FD-1, keeps FD (one end of a socketpair whose other end only the
 * supervisor holds), and when FD reads end-of-file the supervisor is gone, however it died: SIGTERM
 * to the command, SIGKILL after GRACE_MS. TERM, INT and HUP sent to the watcher go to the command;
 * the watcher exits with the command's status. Portable: tests run it on Linux too.
 */
import { constants } from "node:os";
import { libc } from "../../ffi/libc/load.ts";
import { OS } from "../../ffi/libc/os.ts";

/** SIGTERM first: a VM command gets the same grace `vmlan run` gives it when it stops it itself. */
export const GRACE_MS = 5000;
/** How often the watcher looks at FD; a supervisor's death is noticed within this. */
const WATCH_MS = 200;

/** True once the supervisor's end of FD is closed (read returns 0 or the socket reports a hang-up). */
function supervisorGone(fd: number): boolean {
  const pfd = new Uint8Array(8);
  const v = new DataView(pfd.buffer);
  v.setInt32(0, fd, true);
  v.setInt16(4, OS.POLLIN, true);
  if (libc().poll(pfd, 1, 0) <= 0) return false;
  const rev = v.getInt16(6, true);
  if (rev & (OS.POLLHUP | OS.POLLERR)) return true;
  const buf = new Uint8Array(64);
  return Number(libc().read(fd, buf, buf.length)) <= 0;
}

export async function runWatched(watchFd: number, program: string, argv: string[]): Promise<number> {
  const inherited = Array.from({ length: Math.max(0, watchFd - 3) }, (_, i) => i + 3);
  const child = Bun.spawn([program, ...argv.slice(1)], { argv0: argv[0], stdio: ["inherit", "inherit", "inherit", ...inherited], env: process.env });
  for (const fd of inherited) libc().close(fd); // the command holds them now; a TAP lives as long as it does
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  for (const s of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(s, forward(s));
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const watch = setInterval(() => {
    if (killTimer || !supervisorGone(watchFd)) return;
    child.kill("SIGTERM");
    killTimer = setTimeout(() => child.kill("SIGKILL"), GRACE_MS);
  }, WATCH_MS);
  const code = await child.exited;
  clearInterval(watch);
  clearTimeout(killTimer);
  const sig = child.signalCode ? (constants.signals as Record<string, number>)[child.signalCode] ?? 0 : 0;
  return child.signalCode ? 128 + sig : code;
}
