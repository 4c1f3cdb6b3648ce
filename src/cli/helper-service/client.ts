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
import { HELPER_SOCKET_FILE, type HelperFailure, type HelperPortGuarded, type HelperPortReply, type HelperPortRequest, type HelperPortTaken } from "./wire.ts";

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

type Frame = HelperPortReply | HelperPortTaken | HelperPortGuarded;

/** The daemon's frames on one connection, in order (several may come in one read, one over several reads). */
class Frames {
  readonly #chunk = new Uint8Array(64 * 1024);
  readonly #sofar = { buf: new Uint8Array(0) };
  readonly #queue: Frame[] = [];
  /** The fd passed with what was read so far (the reply's TAP). */
  passed: number | null = null;
  constructor(readonly fd: number) {}

  /** The next frame; null if the daemon hung up, or sent nothing for `ms`. */
  next(ms: number): Frame | null {
    for (;;) {
      const queued = this.#queue.shift();
      if (queued) return queued;
      if (!waitReadable(this.fd, ms)) return null;
      const got = recvWithFd(this.fd, this.#chunk, false);
      if (got.fd !== null) this.passed = got.fd;
      if (got.n === 0) return null;
      if (got.n < 0) continue;
      for (let f = gatherFrame<Frame>(this.#sofar, this.#chunk.subarray(0, got.n)); f; f = gatherFrame(this.#sofar, new Uint8Array(0))) this.#queue.push(f);
    }
  }
}

/** The reply and the fd passed with it; null if the daemon hung up, or did not take the request or answer in time. */
function awaitReply(frames: Frames): { reply: HelperPortReply; fd: number | null } | null {
  let taken = false;
  for (;;) {
    const frame = frames.next(taken ? ANSWER_MS : TAKEN_MS);
    if (!frame || "guarded" in frame) break;
    if (!("taken" in frame)) return { reply: frame, fd: frames.passed };
    taken = true;
  }
  if (frames.passed !== null) closeFd(frames.passed);
  return null;
}

const errorOf = (e: HelperFailure) => new VmlanError(e.message, { code: e.code, exitCode: e.exitCode, details: e.details, lines: e.lines });

/** After an ok reply: returns once the daemon has the port's rules in; throws if it could not, or says nothing in time. */
function awaitGuarded(frames: Frames): void {
  const frame = frames.next(ANSWER_MS);
  if (frame && "guarded" in frame) {
    if (frame.guarded) return;
    throw errorOf(frame.error);
  }
  throw new VmlanError("the services daemon did not confirm the rules of the port", { code: "EHOST", exitCode: 6 });
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
  const frames = new Frames(conn);
  const got = awaitReply(frames);
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
    throw errorOf(reply.error);
  }
  if (fd === null) {
    closeFd(conn);
    throw new VmlanError("the services daemon gave no TAP", { code: "EHOST", exitCode: 6 });
  }
  for (const note of reply.notes) log.info(note);
  debug(`port ${reply.port.ifname} from the services daemon`);
  // No frame to the TAP before the daemon has its rules in (they go in after this reply: wire.ts).
  const port: HostPort = { fd, ifname: reply.port.ifname, offload: reply.port.offload, close: () => closeFd(fd), beforeFirstFrame: () => awaitGuarded(frames) };
  const lease: HelperLease = reply.lease;
  // The hold: closing it (here at the end, or this process's death) releases what the daemon did.
  return { attach: () => lease, openHostPort: () => port, release: () => closeFd(conn) };
}
