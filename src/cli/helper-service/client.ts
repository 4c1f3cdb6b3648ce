/**
 * The helper's side of `<stateDir>/helper.sock` (wire.ts): when the services daemon runs, it
 * attaches, opens the guarded TAP and passes its fd back, so this process loads neither the store
 * nor libnftables (issue #15 §3, bench helper). No daemon, or one that declines: null, and the helper
 * does it all itself, as before. The connection stays open as the hold of the lease and the rules.
 */
import { VmlanError } from "../../core/errors.ts";
import type { HelperDeps, HelperLease, HostPort } from "../../datapath/helper.ts";
import { closeFd, connectUnix, recvWithFd, sendWithFd, waitReadable } from "../../ipc/unix-stream.ts";
import { encodeFrame, gatherFrame } from "../../cni/wire.ts";
import { HELPER_SOCKET_FILE, type HelperPortReply, type HelperPortRequest, type HelperPortTaken } from "./wire.ts";

/**
 * A daemon takes a helper's request up within milliseconds (it serves them one at a time, a few ms
 * each); one that has not within TAKEN_MS is hung, stopped, or that far behind, and this process does
 * it itself. Hanging up before the daemon takes it up is safe: it sends `taken` first, does nothing
 * for a helper that is gone, and takes up nothing within TAKE_MARGIN_MS of the request's `takeBy`
 * (serve.ts), so a `taken` on its way as this gives up cannot be. Once taken, the daemon has
 * ANSWER_MS to answer.
 */
export const TAKEN_MS = 2000;
const ANSWER_MS = 30_000;

/** The reply and the fd passed with it; null if the daemon hung up, or did not take the request or answer in time. */
function awaitReply(fd: number): { reply: HelperPortReply; fd: number | null } | null {
  const chunk = new Uint8Array(64 * 1024);
  const sofar = { buf: new Uint8Array(0) };
  let passed: number | null = null;
  let taken = false;
  for (;;) {
    if (!waitReadable(fd, taken ? ANSWER_MS : TAKEN_MS)) break;
    const got = recvWithFd(fd, chunk, false);
    if (got.fd !== null) passed = got.fd;
    if (got.n <= 0) {
      if (got.n === 0) break;
      continue;
    }
    // `taken` and the reply may come in one read.
    for (let frame = gatherFrame<HelperPortReply | HelperPortTaken>(sofar, chunk.subarray(0, got.n)); frame; frame = gatherFrame(sofar, new Uint8Array(0))) {
      if (!("taken" in frame)) return { reply: frame, fd: passed };
      taken = true;
    }
  }
  if (passed !== null) closeFd(passed);
  return null;
}

/** Where the reply's lines go: the helper's own log. */
export interface ReplyLog {
  info(line: string): void;
  debug(line: string): void;
}

/** A request the daemon is working on: `deps` waits for its reply (null: do it in this process). */
export interface DaemonRequest {
  deps(log: ReplyLog): HelperDeps | null;
}

/**
 * Sends the request to the daemon of `stateDir` and returns at once, so the caller can load what it
 * needs next while the daemon works (run.ts); null when no daemon listens: do it in this process.
 */
export function askDaemon(stateDir: string, req: Omit<HelperPortRequest, "takeBy">): DaemonRequest | null {
  let conn: number;
  try {
    conn = connectUnix(`${stateDir}/${HELPER_SOCKET_FILE}`); // not node:path's join: run.ts says why
  } catch {
    return null; // no services daemon (or not ours to reach): in process
  }
  try {
    // Before the send: the wait for `taken` starts after it, so this helper gives up no earlier than takeBy.
    sendWithFd(conn, encodeFrame({ ...req, takeBy: Date.now() + TAKEN_MS } satisfies HelperPortRequest));
  } catch {
    closeFd(conn); // it hung up already
    return null;
  }
  return { deps: (log) => depsFromReply(conn, log) };
}

function depsFromReply(conn: number, log: ReplyLog): HelperDeps | null {
  const debug = log.debug;
  const got = awaitReply(conn);
  if (!got || "fallback" in got.reply) {
    closeFd(conn);
    debug(`in process: ${got ? (got.reply as { fallback: string }).fallback : "the services daemon did not answer"}`);
    return null;
  }
  const { reply, fd } = got;
  if (!reply.ok && reply.error.code === "EPROTO") { // a daemon of an older wire version did not understand the request
    closeFd(conn);
    if (fd !== null) closeFd(fd);
    debug(`in process: the services daemon refused the request: ${reply.error.message}`);
    return null;
  }
  if (!reply.ok) {
    closeFd(conn);
    const e = reply.error;
    throw new VmlanError(e.message, { code: e.code, exitCode: e.exitCode, details: e.details, lines: e.lines });
  }
  if (fd === null) {
    closeFd(conn);
    throw new VmlanError("the services daemon gave no TAP", { code: "EHOST", exitCode: 6 });
  }
  for (const note of reply.notes) log.info(note);
  debug(`port ${reply.port.ifname} from the services daemon`);
  const port: HostPort = { fd, ifname: reply.port.ifname, offload: reply.port.offload, close: () => closeFd(fd) };
  const lease: HelperLease = reply.lease;
  // The hold: closing it (here at the end, or this process's death) releases what the daemon did.
  return { attach: () => lease, openHostPort: () => port, release: () => closeFd(conn) };
}
