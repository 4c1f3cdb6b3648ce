/**
 * The services daemon's side of `vmlan helper` (client.ts): `<stateDir>/helper.sock`, 0600 in the
 * 0700 state dir as cni.sock is. Each connection is one helper: its request is checked, run on the
 * daemon's store and platform one at a time (port.ts), answered with the TAP's fd (SCM_RIGHTS on
 * Bun's own socket fd), the port's rules installed and confirmed (`guarded`), and then held: when
 * the helper closes it or dies, its rules and lease go.
 * A helper in another network namespace, or any request while the binary was replaced, is sent
 * back (`fallback`): it then does it all itself.
 */
import * as v from "valibot";
import { chmodSync, readlinkSync, rmSync } from "node:fs";
import { join } from "node:path";
import { VmlanError } from "../../core/errors.ts";
import type { NetworkService } from "../../core/networks.ts";
import { InterfaceId } from "../../core/resources/names.ts";
import { encodeFrame, takeRequest } from "../../cni/wire.ts";
import { peerCred, sendWithFd } from "../../ipc/unix-stream.ts";
import { replaceStaleSocket } from "../../ipc/stale-socket.ts";
import { type OwnBinary, replaced } from "../../services/own-binary.ts";
import { removeStaleSocket } from "../../datapath/socket-path.ts";
import { type DaemonPort, openHelperPort } from "./port.ts";
import { HELPER_SOCKET_FILE, HELPER_WIRE_VERSION, TAKE_MARGIN_MS, type HelperFailure, type HelperPortGuarded, type HelperPortReply, type HelperPortRequest, type HelperPortTaken } from "./wire.ts";

/** A connection that sends no whole request by then is closed. */
const REQUEST_S = 30;

const text = (max: number) => v.pipe(v.string(), v.maxLength(max));
/** Shapes only: what the values mean (a MAC, a network, an address) the helper's own code checks, with its own messages. */
const REQUEST = v.strictObject({
  v: v.literal(HELPER_WIRE_VERSION),
  interfaceId: InterfaceId,
  network: v.optional(text(256)),
  operationMode: v.optional(v.picklist(["shared", "host", "bridged"])),
  sharedInterface: v.optional(text(64)),
  startAddress: v.optional(text(64)),
  endAddress: v.optional(text(64)),
  subnetMask: v.optional(text(64)),
  mac: v.optional(text(64)),
  keep: v.boolean(),
  allowSpoofing: v.optional(v.boolean()),
  isolation: v.boolean(),
  tso: v.boolean(),
  checksumOffload: v.boolean(),
  socket: v.nullable(v.pipe(text(4096), v.startsWith("/"))),
  style: v.picklist(["vmlan", "vmnet-helper"]),
  takeBy: v.pipe(v.number(), v.safeInteger()),
});

type Sock = { fd: number; write(b: Uint8Array): number; end(): void; timeout(s: number): void };
type Conn = { buf: Uint8Array; taken: boolean; closed: boolean; port: DaemonPort | null };

const netnsOf = (pid: number | "self") => {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return null;
  }
};

function failureOf(e: unknown): HelperFailure {
  if (e instanceof VmlanError) return { message: e.message, code: e.code, exitCode: e.exitCode, details: e.details, lines: [...e.lines] };
  return { message: `internal error: ${(e as Error)?.message ?? String(e)}`, code: "EINTERNAL", exitCode: 1 };
}

const failure = (e: unknown): HelperPortReply => ({ ok: false, error: failureOf(e) });

export async function serveHelpers(o: { stateDir: string; networks: NetworkService; log: (line: string) => void; binary?: OwnBinary | null }): Promise<() => void> {
  const path = join(o.stateDir, HELPER_SOCKET_FILE);
  let stopping = false;
  const answer = async (s: Sock, c: Conn, raw: unknown): Promise<void> => {
    const version = (raw as { v?: unknown } | null)?.v;
    if (typeof version === "number" && version !== HELPER_WIRE_VERSION) return void reply(s, { fallback: `helper wire version ${version}, the services daemon's is ${HELPER_WIRE_VERSION}` });
    const parsed = v.safeParse(REQUEST, raw);
    if (!parsed.success) {
      const i = parsed.issues[0];
      const at = i.path?.map((p) => String(p.key)).join(".");
      return void reply(s, failure(new VmlanError(`invalid helper request${at ? ` at "${at}"` : ""}: ${i.message}`, { code: "EPROTO", exitCode: 2 })));
    }
    if (o.binary && replaced(o.binary)) return void reply(s, { fallback: "the services daemon runs a vmlan binary that was replaced" });
    const pid = peerCred(s.fd).pid;
    if (netnsOf(pid) !== netnsOf("self")) return void reply(s, { fallback: "another network namespace" });
    // Told before the work: a helper that gave up waiting for this (client.ts TAKEN_MS) has hung up, so the send fails and nothing is done for it.
    // One about to give up may not have yet: too close to its takeBy, it is sent back to do it itself, with nothing done here.
    if (Date.now() > parsed.output.takeBy - TAKE_MARGIN_MS) return void reply(s, { fallback: "the services daemon got to the request too late" });
    if (!send(s, { taken: true } satisfies HelperPortTaken)) return void s.end();
    let port: DaemonPort;
    try {
      port = await openHelperPort(o.networks, parsed.output as HelperPortRequest, pid, o.log);
    } catch (e) {
      return void reply(s, failure(e));
    }
    if (c.closed) return port.release(); // the helper went while its port was being made
    c.port = port;
    const sent = reply(s, { ok: true, lease: port.lease, port: { ifname: port.host.ifname, ...(port.host.offload ? { offload: port.host.offload } : {}) }, notes: port.notes }, port.host.fd);
    if (!sent) return end(c);
    // The rules after the reply, off the helper's way to its start line (it prints the line, then
    // waits for this before its first frame), as the in-process path installs them after its line.
    try {
      port.guard();
    } catch (e) {
      c.port = null; // undone by guard()
      send(s, { guarded: false, error: failureOf(e) });
      return void s.end();
    }
    if (!send(s, { guarded: true })) end(c);
  };
  const send = (s: Sock, value: HelperPortReply | HelperPortTaken | HelperPortGuarded, fd?: number): boolean => {
    const frame = encodeFrame(value);
    let n = -1;
    try {
      n = sendWithFd(s.fd, frame, fd); // small, into a socket buffer the helper empties: whole or an error
    } catch {}
    return n === frame.length;
  };
  const reply = (s: Sock, r: HelperPortReply, fd?: number): boolean => {
    const sent = send(s, r, fd);
    if (!sent || !("ok" in r) || !r.ok) s.end();
    return sent;
  };
  const end = (c: Conn) => {
    const p = c.port;
    c.port = null;
    if (!p) return;
    try {
      // The daemon stopping leaves running helpers as they are (owned leases, rules): its successor's housekeeping releases the dead ones'.
      if (stopping) p.host.close();
      else {
        p.release();
        if (p.socket) tidySocket(p.socket, 5);
      }
    } catch (e) {
      o.log(`helper: release of ${p.lease.network}/${p.lease.id}: ${(e as Error).message}`);
    }
  };
  // A helper that died leaves its --socket and lock (the orphan path's cleanup, cli/owners.ts); its lock may outlive the connection by a moment.
  const tidySocket = (path: string, tries: number): void => {
    if (!removeStaleSocket(path) && tries > 0) setTimeout(() => tidySocket(path, tries - 1), 200);
  };
  let queue: Promise<unknown> = Promise.resolve();
  replaceStaleSocket(path, "a services daemon");
  const server = Bun.listen<Conn>({
    unix: path,
    socket: {
      open(s) {
        s.data = { buf: new Uint8Array(0), taken: false, closed: false, port: null };
        s.timeout(REQUEST_S);
      },
      data(s, d) {
        const c = s.data;
        const req = takeRequest(s, d);
        if (req === null) return;
        const sock = s as unknown as Sock;
        // One at a time: netlink and the store are synchronous, and two helpers creating a network must not overlap.
        queue = queue.then(() => answer(sock, c, req)).catch((e) => (o.log(`helper: ${(e as Error).message}`), s.end()));
      },
      close(s) {
        s.data.closed = true;
        end(s.data);
      },
      timeout: (s) => void s.end(),
      error: () => {},
    },
  });
  chmodSync(path, 0o600);
  o.log(`helper: serving helpers' ports on ${path}`);
  return () => {
    stopping = true;
    server.stop(true);
    rmSync(path, { force: true });
  };
}
