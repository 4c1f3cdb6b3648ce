/**
 * The file a long-running vmlan runs from, so the services daemon can tell when an upgrade replaced
 * it. Package managers (dpkg, Homebrew, an install script) put a new binary in place by renaming a
 * new file over the old path (a running executable cannot be written in place: ETXTBSY), so the
 * path then names another inode than the one this process was started from. A daemon left running
 * the old code would serve the new plugin's calls, and open a store the new code may have migrated.
 */
import { statSync } from "node:fs";

export interface OwnBinary {
  /** The path this process was started as (what an upgrade replaces). */
  path: string;
  /** device:inode of the running image. */
  id: string;
}

/** A `bun build --compile` binary (its entry lives in Bun's embedded file system), not `bun src/main.ts`. */
export const isCompiled = () => Bun.main.startsWith("/$bunfs/") || Bun.main.includes("~BUN");

const idOf = (s: { dev: number | bigint; ino: number | bigint }) => `${s.dev}:${s.ino}`;

/**
 * The compiled binary this process runs, or null when it runs from source (`bun src/main.ts`: the
 * executable is Bun). On Linux the running image is /proc/self/exe (the inode, even once unlinked);
 * elsewhere the path as it was at start.
 */
export function ownBinary(compiled = isCompiled()): OwnBinary | null {
  if (!compiled) return null;
  return binaryAt(process.execPath, process.platform === "linux" ? "/proc/self/exe" : process.execPath);
}

/** The identity of `running`, to be compared later with what `path` names. Exported for tests. */
export function binaryAt(path: string, running = path): OwnBinary | null {
  try {
    return { path, id: idOf(statSync(running)) };
  } catch {
    return null;
  }
}

/**
 * True once `path` names another regular file than the one running. A missing path is not a
 * replacement yet (an installer between unlink and rename): the next look decides.
 */
export function replaced(own: OwnBinary): boolean {
  try {
    const now = statSync(own.path);
    return now.isFile() && idOf(now) !== own.id;
  } catch {
    return false;
  }
}
