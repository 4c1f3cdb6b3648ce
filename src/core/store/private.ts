/**
 * The state dir and the store are private to their owner: the dir 0700, the store and its WAL and
 * shared-memory files 0600, whatever the umask and whatever was there before (git and ssh fix
 * their private dirs the same way; SQLite gives -wal and -shm the main file's mode, so the main
 * file is fixed before they are made). A dir or file found more open is closed, with one line
 * saying so; a dir that is not a directory, or belongs to another user, is refused.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from "node:fs";
import { StoreError } from "../errors.ts";

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
const octal = (m: number) => `0${(m & 0o777).toString(8)}`;

export type Note = (line: string) => void;
export const stderrNote: Note = (line) => process.stderr.write(`vmlan: ${line}\n`);

/** Creates `dir` (and parents) or makes an existing one 0700. */
export function privateDir(dir: string, note: Note = stderrNote): void {
  const existed = existsSync(dir);
  if (!existed) mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  const st = statSync(dir);
  if (!st.isDirectory()) throw new StoreError(`state dir ${dir} exists and is not a directory`);
  const me = process.getuid?.();
  if (me !== undefined && me !== 0 && st.uid !== me) throw new StoreError(`state dir ${dir} belongs to uid ${st.uid}, not to this user (uid ${me}); use another VMLAN_STATE_DIR`);
  if ((st.mode & 0o777) === DIR_MODE) return;
  chmodSync(dir, DIR_MODE);
  if (existed) note(`state dir ${dir} was mode ${octal(st.mode)}; set to 0700 (it holds the store)`);
}

/** Makes each existing file 0600; files found more open are reported unless `fresh` (just made here). */
export function privateFiles(paths: readonly string[], note: Note = stderrNote, fresh = false): void {
  for (const p of paths) {
    let mode: number;
    try {
      mode = statSync(p).mode & 0o777;
    } catch {
      continue; // not there (yet): SQLite makes -wal and -shm with the main file's mode
    }
    if (mode === FILE_MODE) continue;
    chmodSync(p, FILE_MODE);
    if (mode & 0o077 && !fresh) note(`${p} was mode ${octal(mode)}; set to 0600`);
  }
}

/**
 * Makes `path` as an empty 0600 file if it is not there (an empty file is a new SQLite database):
 * true when this call made it. SQLite would make it with the umask's mode, and a process opening
 * the store at that moment saw it 0644 and said so (20 concurrent first creates).
 */
export function createPrivate(path: string): boolean {
  try {
    closeSync(openSync(path, "wx", FILE_MODE));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
}
