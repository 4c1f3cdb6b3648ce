/** An exclusive advisory lock (flock(2)) on a file; the kernel drops it when the process dies. */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { LOCK_EX, O_CLOEXEC, O_CREAT, O_RDWR } from "../../../ffi/libc/constants.ts";
import { libc } from "../../../ffi/libc/load.ts";
import { check, retryEintr } from "../../../ffi/errno.ts";

export async function withFileLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const c = libc();
  const fd = check("open", c.open(Buffer.from(`${path}\0`), O_RDWR | O_CREAT | O_CLOEXEC, 0o600), path);
  try {
    // Blocking is fine: the plugin is a short-lived process and holders keep the lock for milliseconds.
    retryEintr("flock", () => c.flock(fd, LOCK_EX), path);
    return await fn();
  } finally {
    c.close(fd); // closing the last fd releases the lock
  }
}
