/**
 * socket_vmnet's pidfile (-p/--pidfile, main.c create_pidfile): the pid in decimal without a newline,
 * mode 0644, held under an exclusive lock for the daemon's life (macOS O_EXLOCK | O_NONBLOCK; here
 * flock LOCK_EX | LOCK_NB, the same advisory lock), removed at exit. A second daemon on the same
 * pidfile fails instead of overwriting it. Unlike a bare O_TRUNC open, the file is truncated only
 * after the lock is ours, and a symlink at the path is refused (O_NOFOLLOW): a daemon running as root
 * must not be pointed at another file.
 */
import { closeSync, constants, ftruncateSync, openSync, rmSync, writeSync } from "node:fs";
import { errno } from "../../ffi/errno.ts";
import { EWOULDBLOCK, LOCK_EX, LOCK_NB, libcDatapath } from "../../ffi/libc/datapath.ts";
import { HostError } from "../core/errors.ts";
import { escapeText } from "./log.ts";

export interface Pidfile {
  readonly path: string;
  /** Removes the file and drops the lock. Idempotent. */
  remove(): void;
}

const STRERROR: Record<string, string> = {
  EAGAIN: "Resource temporarily unavailable",
  ELOOP: "Too many levels of symbolic links",
  ENOENT: "No such file or directory",
  EACCES: "Permission denied",
  EISDIR: "Is a directory",
};

function failed(path: string, why: string): HostError {
  return new HostError(`Failed to open pidfile: "${escapeText(path)}": ${why}`, { code: "EPIDFILE", details: { path } });
}

export function createPidfile(path: string, pid = process.pid): Pidfile {
  const { O_WRONLY, O_CREAT, O_NONBLOCK, O_NOFOLLOW, O_CLOEXEC } = constants as Record<string, number>;
  let fd: number;
  try {
    fd = openSync(path, O_WRONLY! | O_CREAT! | O_NONBLOCK! | O_NOFOLLOW! | (O_CLOEXEC ?? 0), 0o644);
  } catch (e) {
    const code = (e as { code?: string }).code ?? "";
    throw failed(path, STRERROR[code] ?? code);
  }
  if (libcDatapath().flock(fd, LOCK_EX | LOCK_NB) < 0) {
    const e = errno();
    closeSync(fd);
    throw failed(path, e === EWOULDBLOCK ? `${STRERROR.EAGAIN} (another process holds it)` : `flock errno ${e}`);
  }
  try {
    ftruncateSync(fd, 0);
    writeSync(fd, String(pid));
  } catch (e) {
    rmSync(path, { force: true });
    closeSync(fd);
    throw new HostError(`Failed to write pidfile: "${escapeText(path)}": ${(e as Error).message}`, { code: "EPIDFILE" });
  }
  let removed = false;
  return {
    path,
    remove() {
      if (removed) return;
      removed = true;
      rmSync(path, { force: true });
      closeSync(fd);
    },
  };
}
