/**
 * A unix socket path that vmlan serves (`helper --socket PATH`): only a stale socket of ours is ever
 * replaced. The lock file PATH.lock is opened with O_NOFOLLOW (a planted symlink is refused, never
 * followed) and O_NONBLOCK (a planted FIFO cannot hang the open), must be a regular file, and is held
 * with flock for the server's life, as vmnet-helper does. What sits at PATH is replaced only when it is
 * a socket nobody serves (connect(2) is refused); a regular file, a directory, a symlink or a live
 * socket is an error naming the path, and is left alone. Removal on close touches only the inodes
 * this process created or locked, so a file put there after us is never deleted.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, unlinkSync, type Stats } from "node:fs";
import { libc } from "../../ffi/libc/load.ts";
import { OS, encodeSockaddrUn } from "../../ffi/libc/os.ts";
import { emulateSocketFlags } from "../../ffi/libc/variadic.ts";
import { errno } from "../../ffi/errno.ts";
import { ECONNREFUSED, EWOULDBLOCK, LOCK_EX, LOCK_NB, libcDatapath } from "../../ffi/libc/datapath.ts";
import { ConflictError, HostError, UsageError } from "../core/errors.ts";

const { O_RDONLY, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = constants;
/** Acquiring the lock races with a helper that unlinks it on exit; a few tries settle it. */
const LOCK_TRIES = 5;
const BUSY_RETRY_MS = 5;

/** "a regular file", "a directory", ...: what a path or fd is, for error lines. */
export function kindOf(s: Stats): string {
  if (s.isFile()) return "a regular file";
  if (s.isDirectory()) return "a directory";
  if (s.isSymbolicLink()) return "a symbolic link";
  if (s.isFIFO()) return "a FIFO";
  if (s.isCharacterDevice()) return "a character device";
  if (s.isBlockDevice()) return "a block device";
  return s.isSocket() ? "a socket" : "a special file";
}

/** lstat, or null when nothing is there. */
function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new HostError(`cannot examine ${JSON.stringify(path)}: ${(e as Error).message}`);
  }
}

const same = (a: Stats | null, b: Stats | null) => !!a && !!b && a.ino === b.ino && a.dev === b.dev;

/** Removes `path` only if it is still the very inode `expected` (never a file that replaced ours). */
export function unlinkIfSame(path: string, expected: Stats | null): void {
  if (!same(lstatOrNull(path), expected)) return;
  try {
    unlinkSync(path);
  } catch {}
}

export interface PathLock {
  readonly path: string;
  /** Unlinks PATH.lock (if it is still the file we locked) and releases the lock. Idempotent. */
  release(): void;
}

/** Refuses, before anything is created, a PATH that holds something other than a socket. */
export function checkSocketPath(path: string, flag: string): void {
  const st = lstatOrNull(path);
  if (st && !st.isSocket()) throw new UsageError(`${flag} ${JSON.stringify(path)} is ${kindOf(st)}, not a socket; choose another path`, { details: { path } });
}

/**
 * Takes PATH.lock (exclusive, non-blocking) or throws: ConflictError when a live server holds it.
 * `busyMs`: how long a lock held by someone else is tried again before that (a server holds it for
 * its whole life; a tidier, removeStaleSocket, for a moment).
 */
export function lockSocketPath(path: string, flag: string, busyMs = 0): PathLock {
  const lockPath = `${path}.lock`;
  const q = JSON.stringify;
  const giveUp = Date.now() + busyMs;
  for (let i = 0; i < LOCK_TRIES; ) {
    let fd: number;
    try {
      fd = openSync(lockPath, O_RDONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o600); // Bun adds O_CLOEXEC
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ELOOP") throw new UsageError(`${flag} ${q(path)}: the lock file ${q(lockPath)} is a symbolic link; refusing to follow it`, { details: { path: lockPath } });
      throw new HostError(`${flag} ${q(path)}: cannot open the lock file ${q(lockPath)}: ${(e as Error).message}`, { details: { path: lockPath } });
    }
    const st = fstatSync(fd);
    if (!st.isFile()) {
      closeSync(fd);
      throw new UsageError(`${flag} ${q(path)}: the lock file ${q(lockPath)} is ${kindOf(st)}, not a regular file`, { details: { path: lockPath } });
    }
    if (libcDatapath().flock(fd, LOCK_EX | LOCK_NB) < 0) {
      const e = errno();
      closeSync(fd);
      if (e === EWOULDBLOCK && Date.now() < giveUp) {
        Bun.sleepSync(BUSY_RETRY_MS);
        continue;
      }
      if (e === EWOULDBLOCK) throw new ConflictError(`socket ${path} is in use by a running helper (${lockPath} is locked)`, { details: { path } });
      throw new HostError(`${flag} ${q(path)}: cannot lock ${q(lockPath)} (errno ${e})`);
    }
    // A server that exited between our open and flock unlinked the file we now hold: lock the new one.
    if (!same(lstatOrNull(lockPath), st)) {
      closeSync(fd);
      i++;
      continue;
    }
    let released = false;
    return {
      path: lockPath,
      release: () => {
        if (released) return;
        released = true;
        unlinkIfSame(lockPath, st); // before closing: nobody can lock this inode and then lose it
        closeSync(fd);
      },
    };
  }
  throw new ConflictError(`${flag} ${q(path)}: its lock file ${q(lockPath)} keeps changing; another process is using it`);
}

/**
 * With PATH.lock held: removes a stale socket at PATH (nothing serves it) and returns; refuses
 * anything else. A socket that accepts a connection belongs to a live program that is not a
 * vmlan helper (those hold the lock), so it stays.
 */
export function clearStaleSocket(path: string, flag: string): void {
  const st = lstatOrNull(path);
  if (!st) return;
  if (!st.isSocket()) throw new UsageError(`${flag} ${JSON.stringify(path)} is ${kindOf(st)}, not a socket; choose another path`, { details: { path } });
  if (probe(path) !== ECONNREFUSED) throw new ConflictError(`${flag} ${JSON.stringify(path)} is a socket another program is serving; choose another path`, { details: { path } });
  unlinkIfSame(path, st);
}

/** connect(2) to PATH with a datagram socket: 0 when something serves it, else the errno (ECONNREFUSED: stale). */
function probe(path: string): number {
  const c = libc();
  const fd = c.socket(OS.AF_UNIX, OS.SOCK_DGRAM | OS.SOCK_CLOEXEC, 0);
  if (fd < 0) return errno();
  try {
    emulateSocketFlags(fd, true, false);
    const sa = encodeSockaddrUn(OS, path)!;
    return libcDatapath().connect(fd, sa, sa.length) === 0 ? 0 : errno();
  } finally {
    c.close(fd);
  }
}

/**
 * Removes PATH and PATH.lock that a helper left when it died (issue #12 item 10), under the same rules
 * as a new helper would: only when the lock can be taken and PATH is a socket nobody serves. Never
 * throws; returns whether the files are gone.
 */
export function removeStaleSocket(path: string): boolean {
  // A helper that stopped cleanly removed both: nothing to lock (the lock's O_CREAT would make
  // PATH.lock again, for a moment a new helper on PATH would find taken).
  if (!lstatOrNull(path) && !lstatOrNull(`${path}.lock`)) return true;
  try {
    checkSocketPath(path, "--socket");
    const lock = lockSocketPath(path, "--socket");
    try {
      clearStaleSocket(path, "--socket");
    } finally {
      lock.release();
    }
    return true;
  } catch {
    return false;
  }
}
