/**
 * The plugin's fast path: when the services daemon of the call's state dir runs (`vmlan system
 * start`), ADD, DEL and CHECK are handed to it over `<stateDir>/cni.sock` (cni/serve.ts), where the
 * code is loaded, the store open and the JIT warm; this process only starts, passes the call on and
 * prints the answer. No daemon (or one for which the call's paths lead elsewhere: another network
 * namespace, another file at CNI_NETNS): the call runs in this process, as before. Loads nothing but
 * wire.ts and the blocking libc calls of platform/linux/plugin-call.ts: node:fs alone costs a plugin
 * process ~3 ms, Bun's event loop (Bun.stdin, Bun.connect) ~1 ms, and the point of this file is what
 * it does not load. The daemon serves CNI calls on Linux only (`services run`): elsewhere the call
 * runs here.
 */
import { decodeFrame, encodeFrame, type CniReply, type CniRequest, SOCKET_FILE } from "./wire.ts";

const SERVED = new Set(["ADD", "DEL", "CHECK"]);
/** The daemon queues calls one at a time; a call it has not answered by then is given up (code 11). */
const ANSWER_S = 60;

export type Handled = { code: number } | { stdin: string | null };

/** The state dir the config names (as cni/config.ts reads it), else VMLAN_STATE_DIR, else root's default. */
function stateDirOf(stdin: string, env: Record<string, string | undefined>): string | null {
  let conf: { type?: unknown; stateDir?: unknown; ipam?: { type?: unknown; stateDir?: unknown } };
  try {
    conf = JSON.parse(stdin);
  } catch {
    return null; // the in-process path says what is wrong with it
  }
  if (typeof conf !== "object" || conf === null) return null;
  const dir = conf.type === "vmlan" ? conf.stateDir : conf.ipam?.type === "vmlan" ? conf.ipam.stateDir : undefined;
  if (dir !== undefined) return typeof dir === "string" && dir.startsWith("/") ? dir : null;
  if (env.VMLAN_STATE_DIR) return env.VMLAN_STATE_DIR;
  return process.getuid?.() === 0 ? "/var/lib/vmlan" : null; // others: stateDir()'s XDG rules, in process
}

type Io = typeof import("../platform/linux/plugin-call.ts");

/** The config on stdin: read(2) to its end, the rest (a non-blocking fd 0) by Bun.stdin, which waits. */
async function readConfig(io: Io): Promise<string> {
  const { bytes, rest } = io.readStdin();
  const text = new TextDecoder().decode(bytes);
  return rest ? text + (await Bun.stdin.text()) : text;
}

/** Sends one request and waits for its reply; null when there is no daemon to take it (or it went away). */
function exchange(io: Io, path: string, req: CniRequest): CniReply | null {
  const whole = (got: Uint8Array) => {
    try {
      return decodeFrame(got) !== null;
    } catch {
      return true; // not a frame: decoded below, and refused
    }
  };
  const got = io.callDaemon(path, encodeFrame(req), whole, ANSWER_S);
  if (got === "timeout") return { code: 1, out: `${JSON.stringify({ cniVersion: "1.0.0", code: 11, msg: `the vmlan services daemon did not answer within ${ANSWER_S} s` })}\n` };
  try {
    return got && decodeFrame<CniReply>(got);
  } catch {
    return null;
  }
}

/**
 * Hands the call to the daemon when there is one for it: `{ code }` once the answer is printed, else
 * `{ stdin }` (what was read of the config, null if nothing) for the in-process path.
 */
export async function viaDaemon(env: Record<string, string | undefined> = process.env): Promise<Handled> {
  if (!SERVED.has(env.CNI_COMMAND ?? "") || process.platform !== "linux") return { stdin: null };
  const io = await import("../platform/linux/plugin-call.ts");
  // No fstat first (Bun's async stat starts a thread pool, a millisecond or more): /dev/null reads as
  // "" and goes to the in-process path, which says what is missing; a terminal waits for its EOF.
  let stdin: string;
  try {
    stdin = await readConfig(io);
  } catch {
    return { stdin: null }; // no stdin at all (fd 0 closed): the in-process path answers that
  }
  const dir = stateDirOf(stdin, env);
  if (!dir || env.VMLAN_CNI_IN_PROCESS === "1") return { stdin };
  const pass: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && (k.startsWith("CNI_") || k === "VMLAN_DEBUG")) pass[k] = v;
  const reply = exchange(io, `${dir}/${SOCKET_FILE}`, { env: pass, stdin, stateDir: dir, pid: process.pid });
  if (!reply || "fallback" in reply) {
    if (env.VMLAN_DEBUG === "1") await Bun.write(Bun.stderr, `vmlan: running here: ${reply ? reply.fallback : "no services daemon answered"}\n`);
    return { stdin };
  }
  if (env.VMLAN_DEBUG === "1") await Bun.write(Bun.stderr, "vmlan: served by the services daemon\n");
  if (reply.out) {
    const out = new TextEncoder().encode(reply.out);
    const n = io.writeStdout(out);
    if (n < out.length) await Bun.write(Bun.stdout, out.subarray(n));
  }
  return { code: reply.code };
}
