/**
 * Who a process is, beyond its pid: the pid plus the process's start time, so a reused pid is never
 * taken for the process that owned an attachment (issue #12 item 10). Linux: field 22 of
 * /proc/PID/stat (starttime, clock ticks since boot; proc(5)). macOS: `ps -o stat=,lstart=` (no
 * procfs there; one short process per check, only when reaping). A zombie counts as gone: it holds
 * no fds any more, so its TAP and sockets are gone too.
 */
import { readFileSync } from "node:fs";

export interface ProcessIdentity {
  pid: number;
  /** Opaque; equal for the same process, different for a later process with the same pid. */
  start: string;
}

/** Linux: /proc/PID/stat. null when there is no such process, or it is a zombie. */
export function procIdentity(pid: number): ProcessIdentity | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  if (state === undefined || state === "Z" || state === "X") return null;
  const start = fields[19]; // field 22 of proc(5), counting from 1 with pid and comm as 1 and 2
  return start ? { pid, start } : null;
}

/** Any OS with a POSIX-ish ps (macOS; Linux procps too, which tests use). */
export function psIdentity(pid: number): ProcessIdentity | null {
  const r = Bun.spawnSync(["ps", "-o", "stat=", "-o", "lstart=", "-p", String(pid)], {
    env: { ...process.env, LC_ALL: "C" }, stdin: "ignore", stdout: "pipe", stderr: "ignore",
  });
  if (r.exitCode !== 0) return null;
  const line = r.stdout.toString().trim();
  const [state, ...rest] = line.split(/\s+/);
  if (!state || state.startsWith("Z") || rest.length === 0) return null;
  return { pid, start: rest.join(" ") };
}

export function identityOf(pid: number): ProcessIdentity | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  return process.platform === "linux" ? procIdentity(pid) : psIdentity(pid);
}

/** This process. */
export function selfIdentity(): ProcessIdentity {
  const me = identityOf(process.pid);
  if (!me) throw new Error(`cannot read this process's own identity (pid ${process.pid})`);
  return me;
}

/** True while the very process `o` names runs (same pid and same start time). */
export function isAlive(o: ProcessIdentity): boolean {
  const now = identityOf(o.pid);
  return now !== null && now.start === o.start;
}
