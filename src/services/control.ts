/**
 * The services daemon seen from the CLI: is it running (pidfile + a live process that is a vmlan
 * services daemon), start it detached, stop it, ask it to reload (SIGHUP). Files live in the state
 * dir: services.pid (written by the daemon once it serves) and services.log (its stdout/stderr).
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stateDir } from "../core/store/paths.ts";
import { HostError } from "../core/errors.ts";
import { isCompiled } from "./own-binary.ts";

export const PID_FILE = "services.pid";
export const LOG_FILE = "services.log";
/** The daemon's argv after the binary; also how a live pid is recognised as ours in /proc. */
export const DAEMON_ARGS = ["services", "run"];
/** How long `system start` waits for the daemon to bind and write its pidfile. */
const START_WAIT_MS = 10_000;
/** How long `system stop` waits after SIGTERM before SIGKILL. */
const STOP_WAIT_MS = 5_000;

export interface ServicesStatus { running: boolean; pid: number | null; pidFile: string; log: string }

export const pidFile = (dir = stateDir()) => join(dir, PID_FILE);
export const logFile = (dir = stateDir()) => join(dir, LOG_FILE);

function readPid(dir: string): number | null {
  try {
    const n = Number(readFileSync(pidFile(dir), "utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** Alive and (where /proc exists) really a `vmlan services run`: a recycled pid is not mistaken for it. */
function isDaemon(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as { code?: string }).code !== "EPERM") return false;
  }
  const cmdline = `/proc/${pid}/cmdline`;
  if (!existsSync("/proc/self/cmdline")) return true;
  try {
    return readFileSync(cmdline, "utf8").split("\0").join(" ").includes(DAEMON_ARGS.join(" "));
  } catch {
    return false;
  }
}

export function servicesStatus(dir = stateDir()): ServicesStatus {
  const pid = readPid(dir);
  const running = pid !== null && isDaemon(pid);
  return { running, pid: running ? pid : null, pidFile: pidFile(dir), log: logFile(dir) };
}

/** How to run this vmlan again: the compiled binary itself, or bun + the entry script in development. */
function selfArgv(): string[] {
  return isCompiled() ? [process.execPath] : [process.execPath, Bun.main];
}

/** Starts the daemon detached (its own session, output to services.log) unless it runs; waits until it serves. */
export async function startServices(dir = stateDir()): Promise<ServicesStatus & { outcome: "started" | "running" }> {
  const before = servicesStatus(dir);
  if (before.running) return { ...before, outcome: "running" };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const out = openSync(logFile(dir), "a", 0o600);
  const [cmd, ...args] = selfArgv();
  // argv0 "vmlan": a copy of the binary named vmnet-helper (cli/compat/programs.ts) still starts the daemon.
  const child = spawn(cmd!, [...args, ...DAEMON_ARGS], { argv0: "vmlan", detached: true, stdio: ["ignore", out, out], env: process.env });
  closeSync(out);
  let exited: number | null = null;
  child.on("exit", (code) => { exited = code ?? 1; });
  child.unref();
  const end = Date.now() + START_WAIT_MS;
  while (Date.now() < end) {
    if (readPid(dir) === child.pid) return { ...servicesStatus(dir), outcome: "started" };
    if (exited !== null) break;
    await Bun.sleep(50);
  }
  const tail = readFileSync(logFile(dir), "utf8").trim().split("\n").slice(-3).join(" | ");
  throw new HostError(`the services daemon did not start${exited !== null ? ` (exit ${exited})` : ""}; see ${logFile(dir)}: ${tail}`);
}

/** SIGTERM, wait, SIGKILL if needed. Tolerates a daemon that is not running. */
export async function stopServices(dir = stateDir()): Promise<"stopped" | "not running"> {
  const s = servicesStatus(dir);
  if (!s.running || s.pid === null) {
    rmSync(pidFile(dir), { force: true });
    return "not running";
  }
  process.kill(s.pid, "SIGTERM");
  const end = Date.now() + STOP_WAIT_MS;
  while (Date.now() < end && isDaemon(s.pid)) await Bun.sleep(50);
  if (isDaemon(s.pid)) process.kill(s.pid, "SIGKILL");
  rmSync(pidFile(dir), { force: true });
  return "stopped";
}

/** Asks a running daemon to reload (after network create/rm). No daemon: nothing to do. */
export async function notifyServices(dir = stateDir()): Promise<boolean> {
  const s = servicesStatus(dir);
  if (!s.running || s.pid === null) return false;
  process.kill(s.pid, "SIGHUP");
  return true;
}

/** Called by the daemon once it serves. */
export function writePidfile(dir = stateDir()): void {
  writeFileSync(pidFile(dir), `${process.pid}\n`, { mode: 0o644 });
}

/** Called by the daemon on exit: removes the pidfile only if it is still ours. */
export function removePidfile(dir = stateDir()): void {
  if (readPid(dir) === process.pid) rmSync(pidFile(dir), { force: true });
}
