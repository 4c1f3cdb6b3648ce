/**
 * Checks of local input that commands run before they allocate or start anything (issue #12 item
 * 12): the networks named, a program to run, files to read or write. Each throws one error
 * naming the flag and the value; none changes anything. An interface id's check is
 * resources/interface-id.ts's (a helper checks it without loading this file's node:fs).
 */
import { accessSync, constants, statSync, type Stats } from "node:fs";
import { delimiter, dirname, isAbsolute, join } from "node:path";
import { NotFoundError, UsageError } from "./errors.ts";

const q = JSON.stringify;

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** Every network exists in the store (`has` answers for one name). */
export function checkNetworksExist(networks: string[], has: (name: string) => boolean): void {
  for (const n of networks) if (!has(n)) throw new NotFoundError(`no network named ${q(n)}`);
}

/** A file the command (or its hypervisor) will read: it exists, is a regular file, and is readable. */
export function checkInputFile(flag: string, path: string): void {
  const st = statOrNull(path);
  if (!st) throw new UsageError(`${flag} ${q(path)}: no such file`);
  if (st.isDirectory()) throw new UsageError(`${flag} ${q(path)}: a directory, not a file`);
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new UsageError(`${flag} ${q(path)}: not readable`);
  }
}

/** A file the command will write: its directory exists. */
export function checkOutputFile(flag: string, path: string): void {
  const dir = dirname(path);
  const st = statOrNull(dir);
  if (!st) throw new UsageError(`${flag} ${q(path)}: directory ${q(dir)} does not exist`);
  if (!st.isDirectory()) throw new UsageError(`${flag} ${q(path)}: ${q(dir)} is not a directory`);
  const f = statOrNull(path);
  if (f?.isDirectory()) throw new UsageError(`${flag} ${q(path)}: a directory, not a file`);
}

/**
 * The program a command line starts, resolved as execvp(3) would: a name with a '/' is taken as a
 * path, anything else is searched on PATH. Returns the absolute path of an executable regular file.
 */
export function resolveProgram(flag: string, program: string, path = process.env.PATH ?? ""): string {
  const executable = (p: string) => {
    const st = statOrNull(p);
    if (!st?.isFile()) return false;
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (program.includes("/")) {
    const st = statOrNull(program);
    if (!st) throw new UsageError(`${flag} ${q(program)}: no such file`);
    if (!executable(program)) throw new UsageError(`${flag} ${q(program)}: not an executable file`);
    return isAbsolute(program) ? program : join(process.cwd(), program);
  }
  for (const dir of path.split(delimiter)) {
    const p = join(dir || ".", program);
    if (executable(p)) return isAbsolute(p) ? p : join(process.cwd(), p);
  }
  throw new UsageError(`${flag} ${q(program)}: not found on PATH`);
}
