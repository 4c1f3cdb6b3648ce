/**
 * The daemon's side of the plugin's fast path (cni/client.ts): the services daemon listens on
 * `<stateDir>/cni.sock` (0600 in the 0700 state dir: only its owner, root on a node, can connect)
 * and runs each call it is handed as a plugin process would (cni/entry.ts runCni), one at a time, on
 * its own open store. A call for another state dir, or from another network namespace, or whose
 * CNI_NETNS is another file here than where the plugin runs (a mount namespace of its own), is sent
 * back (`fallback`, see declines): the plugin then runs it itself.
 */
import * as v from "valibot";
import { chmodSync, lstatSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { HostError } from "../core/errors.ts";
import type { Store } from "../core/store/store.ts";
import { runCni } from "./entry.ts";
import { type OwnBinary, replaced } from "../services/own-binary.ts";
import { closeOpened, linker, useResidentStore } from "./network.ts";
import { type CniReply, type CniRequest, encodeFrame, takeRequest, SOCKET_FILE } from "./wire.ts";

/** A connection that sends no whole request by then is closed. */
const REQUEST_S = 30;

type Conn = { buf: Uint8Array; out: Uint8Array | null; taken: boolean };

/** A stale socket from a daemon that died is removed; anything else at that path is not ours to delete. */
function clearPath(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new HostError(`${path} exists and is not a socket; not serving CNI calls there`);
  rmSync(path);
}

/** What a plugin sends (wire.ts CniRequest), checked as every other input is. */
const REQUEST = v.object({
  env: v.record(v.string(), v.string()),
  stdin: v.string(),
  stateDir: v.string(),
  pid: v.pipe(v.number(), v.integer(), v.minValue(1)),
});
const isRequest = (r: unknown): r is CniRequest => v.safeParse(REQUEST, r).success;

const fileId = (path: string) => {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
};

/**
 * Why the daemon must not run this call, or null. The plugin is looked at through /proc/<pid>: it
 * is the process that made the call (its environment has the call's CNI_COMMAND, CNI_CONTAINERID
 * and CNI_NETNS: a pid from another pid namespace names someone else here), it is in this network
 * namespace, and its CNI_NETNS is the same file from its root as from ours.
 */
export function declines(req: CniRequest, stateDir: string): string | null {
  if (req.stateDir !== stateDir) return `another state dir (${stateDir} here)`;
  const proc = `/proc/${req.pid}`;
  let environ: string[];
  try {
    environ = readFileSync(`${proc}/environ`, "utf8").split("\0");
  } catch {
    return `no process ${req.pid} here`;
  }
  for (const k of ["CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS"]) {
    if (!environ.includes(`${k}=${req.env[k] ?? ""}`) && (req.env[k] ?? "") !== "") return `process ${req.pid} is not the plugin that called`;
  }
  if (fileId(`${proc}/ns/net`) !== fileId("/proc/self/ns/net")) return "another network namespace";
  const netns = req.env.CNI_NETNS ?? "";
  if (netns && fileId(`${proc}/root${netns.startsWith("/") ? "" : "/"}${netns}`) !== fileId(netns)) return "CNI_NETNS is another file here";
  return null;
}

function flush(s: { write(b: Uint8Array): number; end(): void }, c: Conn): void {
  if (!c.out) return;
  const n = s.write(c.out);
  c.out = n >= c.out.length ? null : c.out.subarray(Math.max(n, 0));
  if (!c.out) s.end();
}

/** The JIT's warm-up (cni/warm.ts), the request's check included. */
async function warmUp(): Promise<void> {
  const [{ warmCni }, links] = await Promise.all([import("./warm.ts"), linker()]);
  const req = { env: { CNI_COMMAND: "ADD", CNI_CONTAINERID: "warm", CNI_NETNS: "/run/netns/warm", CNI_IFNAME: "eth0" }, stdin: "{}", stateDir: "/var/lib/vmlan", pid: 1 };
  await warmCni(links, () => isRequest(req));
}

/** Serves until the returned stop() (which removes the socket). */
export async function serveCni(o: { stateDir: string; store: Store; log: (line: string) => void; binary?: OwnBinary | null }): Promise<() => void> {
  const path = join(o.stateDir, SOCKET_FILE);
  let warmed = false;
  const answer = async (req: unknown): Promise<CniReply> => {
    if (!isRequest(req)) return { fallback: "malformed request" };
    // Between an upgrade and the daemon's restart (at most RECONCILE_MS): the new plugin runs its own code.
    if (o.binary && replaced(o.binary)) return { fallback: "the services daemon runs a vmlan binary that was replaced" };
    const no = declines(req, o.stateDir);
    if (no) return { fallback: no };
    try {
      return await runCni(req.env, req.stdin);
    } finally {
      closeOpened();
      // After the first call (this daemon serves containers), once its reply is out; in slices between
      // which a call that comes meanwhile runs (it shares nothing with the warm-up).
      if (!warmed) {
        warmed = true;
        setImmediate(() => void warmUp().catch((e) => o.log(`cni: warm-up: ${(e as Error).message}`)));
      }
    }
  };
  let queue: Promise<unknown> = Promise.resolve();
  clearPath(path);
  useResidentStore(o.store);
  const server = Bun.listen<Conn>({
    unix: path,
    socket: {
      open(s) {
        s.data = { buf: new Uint8Array(0), out: null, taken: false };
        s.timeout(REQUEST_S);
      },
      data(s, d) {
        const c = s.data;
        const req = takeRequest(s, d);
        if (req === null) return;
        // One call at a time: netlink and the store are synchronous, and two ADDs creating a network must not overlap.
        queue = queue.then(() => answer(req)).then(
          (r) => ((c.out = encodeFrame(r)), flush(s, c)),
          (e) => (o.log(`cni: ${(e as Error).message}`), s.end()),
        );
      },
      drain: (s) => flush(s, s.data),
      timeout: (s) => void s.end(),
      error: () => {},
    },
  });
  chmodSync(path, 0o600);
  o.log(`cni: serving plugin calls on ${path}`);

  return () => {
    server.stop(true);
    useResidentStore(null);
    rmSync(path, { force: true });
  };
}
