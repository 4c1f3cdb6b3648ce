/**
 * The plugin's fast path: when the services daemon of the call's state dir runs (`vmlan system
 * start`), ADD, DEL and CHECK are handed to it over `<stateDir>/cni.sock` (cni/serve.ts), where the
 * code is loaded, the store open and the JIT warm; this process only starts, passes the call on and
 * prints the answer. No daemon (or one for which the call's paths lead elsewhere: another network
 * namespace, another file at CNI_NETNS): the call runs in this process, as before. Imports nothing but Bun's own
 * APIs: node:fs alone costs a plugin process ~3 ms, and the point of this file is what it does not load.
 */
import { decodeFrame, encodeFrame, type CniReply, type CniRequest, SOCKET_FILE } from "./wire.ts";

const SERVED = new Set(["ADD", "DEL", "CHECK"]);
/** The daemon queues calls one at a time; a call it has not answered by then is given up (code 11). */
const ANSWER_MS = 60_000;

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

/**
 * The config on stdin. A regular file (how Bun.spawn and others that buffer the config pass it) is
 * mapped: Bun.stdin.text() reads on a thread pool it starts for that, two threads to create and to
 * end at exit (~0.6 ms of an ADD; bench cni). Anything else (a pipe, a terminal, /dev/null) is read by Bun.stdin.
 * Bun.file's size is a stat(2) of the path: it opens nothing, so a pipe is never opened a second time.
 */
async function readConfig(): Promise<string> {
  const size = Bun.file("/dev/stdin").size;
  if (Number.isFinite(size) && size > 0) {
    try {
      return new TextDecoder().decode(Bun.mmap("/dev/stdin", { shared: false }));
    } catch {} // not ours to map (opened read-write: EACCES on another user's read-only file): read it
  }
  return Bun.stdin.text();
}

/** Sends one request and waits for its reply; null when there is no daemon to take it (or it went away). */
function exchange(path: string, req: CniRequest): Promise<CniReply | null> {
  return new Promise((resolve) => {
    let got = new Uint8Array(0);
    let out: Uint8Array | null = encodeFrame(req);
    let done = false;
    const finish = (r: CniReply | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => finish({ code: 1, out: `${JSON.stringify({ cniVersion: "1.0.0", code: 11, msg: "the vmlan services daemon did not answer within 60 s" })}\n` }), ANSWER_MS);
    const flush = (s: { write(b: Uint8Array): number }) => {
      if (!out) return;
      const n = s.write(out);
      out = n >= out.length ? null : out.subarray(Math.max(n, 0));
    };
    Bun.connect({
      unix: path,
      socket: {
        open: flush,
        drain: flush,
        data: (s, d) => {
          const all = new Uint8Array(got.length + d.length);
          all.set(got);
          all.set(d, got.length);
          got = all;
          let reply: CniReply | null = null;
          try {
            reply = decodeFrame<CniReply>(got);
          } catch {
            finish(null);
          }
          if (reply) {
            finish(reply);
            s.end();
          }
        },
        close: () => finish(null),
        error: () => finish(null),
        connectError: () => finish(null),
      },
    }).catch(() => finish(null));
  });
}

/**
 * Hands the call to the daemon when there is one for it: `{ code }` once the answer is printed, else
 * `{ stdin }` (what was read of the config, null if nothing) for the in-process path.
 */
export async function viaDaemon(env: Record<string, string | undefined> = process.env): Promise<Handled> {
  if (!SERVED.has(env.CNI_COMMAND ?? "")) return { stdin: null };
  // No fstat first (Bun's async stat starts a thread pool, a millisecond or more): /dev/null reads as
  // "" and goes to the in-process path, which says what is missing; a terminal waits for its EOF.
  let stdin: string;
  try {
    stdin = await readConfig();
  } catch {
    return { stdin: null }; // no stdin at all (fd 0 closed): the in-process path answers that
  }
  const dir = stateDirOf(stdin, env);
  if (!dir || env.VMLAN_CNI_IN_PROCESS === "1") return { stdin };
  const pass: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && (k.startsWith("CNI_") || k === "VMLAN_DEBUG")) pass[k] = v;
  const reply = await exchange(`${dir}/${SOCKET_FILE}`, { env: pass, stdin, stateDir: dir, pid: process.pid });
  if (!reply || "fallback" in reply) {
    if (env.VMLAN_DEBUG === "1") await Bun.write(Bun.stderr, `vmlan: running here: ${reply ? reply.fallback : "no services daemon answered"}\n`);
    return { stdin };
  }
  if (env.VMLAN_DEBUG === "1") await Bun.write(Bun.stderr, "vmlan: served by the services daemon\n");
  if (reply.out) await Bun.write(Bun.stdout, reply.out);
  return { code: reply.code };
}
