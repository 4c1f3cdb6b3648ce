/**
 * A listener's socket path left by a daemon that died (the broker, a switch, the services daemon).
 * Not in unix-stream.ts: a helper's client loads that before its request goes out, and node:fs
 * costs about 0.8 ms to load there (bench helper).
 */
import { lstatSync, unlinkSync } from "node:fs";
import { ConflictError } from "../core/errors.ts";
import { closeFd, connectUnix } from "./unix-stream.ts";

/**
 * Frees `path` for a new listening socket: nothing there, or a socket nobody listens on (left by a
 * daemon that died), which is removed. A live listener (`what`, e.g. "a broker"), a file, a directory
 * or a symlink is never touched: an error names it (exit 4).
 */
export function replaceStaleSocket(path: string, what: string): void {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path);
  } catch {
    return; // nothing there
  }
  if (!st.isSocket()) throw new ConflictError(`${path} exists and is not a socket; remove it by hand`, { details: { path } });
  try {
    closeFd(connectUnix(path));
  } catch {
    unlinkSync(path); // nobody listening: stale
    return;
  }
  throw new ConflictError(`${what} is already listening on ${path}`, { details: { path } });
}
