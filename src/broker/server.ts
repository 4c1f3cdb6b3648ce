/**
 * The broker's transport: a unix stream socket, peer credentials checked on accept, framed JSON
 * requests handed to a handler table, replies (optionally with a file descriptor) written back.
 * One thread: a poll() loop with a short timeout, yielding to the event loop between rounds so
 * signals and timers run.
 */
import { ptr } from "bun:ffi";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { libc } from "../../ffi/libc/load.ts";
import { pollfd } from "../../ffi/libc/structs.ts";
import { POLLIN, POLLHUP, POLLERR } from "../../ffi/libc/constants.ts";
import { listenUnix, acceptUnix, peerCred, sendWithFd, recvWithFd, closeFd, setNonblocking, type PeerCred } from "../ipc/unix-stream.ts";
import { replaceStaleSocket } from "../ipc/stale-socket.ts";
import { encodeFrame, takeFrames, parseRequest, PROTOCOL_VERSION, type Request } from "./protocol.ts";
import { VmlanError } from "../core/errors.ts";
import { AcceptGuard } from "./accept-guard.ts";
import { DEFAULT_LIMITS } from "./limits.ts";

export interface Client {
  id: number;
  cred: PeerCred;
}

export interface Handled {
  result: unknown;
  /** A descriptor to pass with the reply; the server closes its copy afterwards. */
  fd?: number;
}

export interface Handlers {
  /** Whether this peer may talk to the broker at all. */
  allow(cred: PeerCred): boolean;
  onRequest(client: Client, req: Request): Handled | Promise<Handled>;
  onDisconnect(client: Client): void;
  /** Called every loop round; return true to stop the server. */
  shouldStop(clients: number): boolean;
}

export interface ServerOptions {
  path: string;
  /** File mode of the socket, e.g. 0o660. */
  mode: number;
  /** Group owning the socket, or null to leave it. */
  gid: number | null;
  /** An already listening socket (systemd socket activation, LISTEN_FDS). */
  inheritedFd?: number;
  /** Open connections one uid may have; default: limits.ts, at most half of what the fd limit allows. */
  connectionsPerUser?: number;
  /** Open connections in all; default: the fd limit less what the broker itself needs. */
  maxConnections?: number;
}

/** Descriptors the broker keeps for itself: store, netlink, nft's pipes, TAPs being opened, Bun's own. */
const FD_RESERVE = 32;

/** The soft RLIMIT_NOFILE (Linux /proc; elsewhere launchd's default soft limit, 256). */
function fdLimit(): number {
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
    const n = Number(line?.split(/\s{2,}/)[1]);
    if (Number.isFinite(n) && n > 0) return n;
  } catch {}
  return 256;
}

interface Conn extends Client {
  fd: number;
  buf: Uint8Array;
}

const RECV_CHUNK = 64 * 1024;

export class BrokerServer {
  #conns = new Map<number, Conn>();
  #listenFd = -1;
  #nextId = 1;
  #stopped = false;
  #recv = new Uint8Array(RECV_CHUNK);
  #guard: AcceptGuard | null = null;
  #refusedLog = 0;
  readonly maxConnections: number;
  readonly connectionsPerUser: number;

  constructor(readonly opts: ServerOptions, readonly handlers: Handlers, readonly log: (msg: string) => void) {
    this.maxConnections = opts.maxConnections ?? Math.max(8, fdLimit() - FD_RESERVE);
    this.connectionsPerUser = opts.connectionsPerUser ?? Math.min(DEFAULT_LIMITS.connectionsPerUser, Math.max(4, Math.floor(this.maxConnections / 2)));
  }

  /** Open connections right now (the fuzz and flood tests read it through `status`). */
  get connections(): number {
    return this.#conns.size;
  }

  listen(): void {
    const busy = { v: PROTOCOL_VERSION, id: 0, ok: false, error: { code: "ELIMIT", message: "the broker is out of file descriptors; try again later" } };
    this.#guard = new AcceptGuard(this.log, () => encodeFrame(busy));
    if (this.opts.inheritedFd !== undefined) {
      this.#listenFd = this.opts.inheritedFd;
      setNonblocking(this.#listenFd);
      return;
    }
    // The system socket's folder (/run/vmlan) is made on first use, world-searchable: the socket's own mode and group guard it.
    if (!existsSync(dirname(this.opts.path))) mkdirSync(dirname(this.opts.path), { recursive: true, mode: 0o755 });
    replaceStaleSocket(this.opts.path, "a broker");
    this.#listenFd = listenUnix(this.opts.path);
    chmodSync(this.opts.path, this.opts.mode);
    if (this.opts.gid !== null) chownSync(this.opts.path, process.getuid?.() ?? 0, this.opts.gid);
  }

  stop(): void {
    this.#stopped = true;
  }

  async run(): Promise<void> {
    while (!this.#stopped) {
      const conns = [...this.#conns.values()];
      const ab = new ArrayBuffer(pollfd.size * (conns.length + 1));
      const view = new DataView(ab);
      const bytes = new Uint8Array(ab);
      // A paused listener (accept failed, see accept-guard.ts) is left out: poll() skips negative fds.
      const listen = this.#guard?.paused() ? -1 : this.#listenFd;
      [listen, ...conns.map((c) => c.fd)].forEach((fd, i) => {
        view.setInt32(i * pollfd.size, fd, true);
        view.setInt16(i * pollfd.size + 4, POLLIN, true);
      });
      const n = libc().poll(ptr(bytes), conns.length + 1, 100);
      if (n > 0) {
        if (view.getInt16(6, true) & POLLIN) this.#acceptAll();
        for (const [i, c] of conns.entries()) {
          const rev = view.getInt16((i + 1) * pollfd.size + 6, true);
          if (rev & (POLLIN | POLLHUP | POLLERR)) await this.#readFrom(c);
        }
      }
      if (this.handlers.shouldStop(this.#conns.size)) this.#stopped = true;
      await new Promise((r) => setImmediate(r));
    }
    for (const c of [...this.#conns.values()]) this.#drop(c);
    this.#guard?.close();
    if (this.opts.inheritedFd === undefined) {
      closeFd(this.#listenFd);
      try { unlinkSync(this.opts.path); } catch {}
    }
  }

  #acceptAll(): void {
    for (;;) {
      let fd: number;
      try {
        fd = acceptUnix(this.#listenFd);
      } catch (e) {
        return this.#guard?.failed(this.#listenFd, e); // never fatal: keep serving the others
      }
      if (fd < 0) return;
      this.#guard?.succeeded();
      let cred: PeerCred;
      try {
        cred = peerCred(fd);
      } catch {
        closeFd(fd);
        continue;
      }
      const conn: Conn = { id: this.#nextId++, cred, fd, buf: new Uint8Array(0) };
      if (!this.handlers.allow(cred)) {
        this.log(`refused client pid ${cred.pid} uid ${cred.uid}: not root, the broker's user or in the socket's group`);
        this.#reply(conn, 0, { code: "EPERM", message: `uid ${cred.uid} may not use this broker (not root and not in the socket's group)` });
        closeFd(fd);
        continue;
      }
      const refused = this.#overLimit(cred.uid);
      if (refused) {
        if (this.#refusedLog++ % 100 === 0) this.log(`refused a connection of uid ${cred.uid} (pid ${cred.pid}): ${refused} (${this.#refusedLog} refused so far)`);
        this.#reply(conn, 0, { code: "ELIMIT", message: refused });
        closeFd(fd);
        continue;
      }
      this.#conns.set(fd, conn);
    }
  }

  /** Why one more connection of `uid` is refused, or null. */
  #overLimit(uid: number): string | null {
    if (this.#conns.size >= this.maxConnections) return `the broker has ${this.#conns.size} connections open, its limit; try again later`;
    let open = 0;
    for (const c of this.#conns.values()) if (c.cred.uid === uid) open++;
    return open >= this.connectionsPerUser ? `uid ${uid} has ${open} connections open; the limit is ${this.connectionsPerUser} per user` : null;
  }

  async #readFrom(c: Conn): Promise<void> {
    for (;;) {
      let got: { n: number; fd: number | null };
      try {
        got = recvWithFd(c.fd, this.#recv, true);
      } catch {
        return this.#drop(c);
      }
      if (got.fd !== null) closeFd(got.fd); // clients never send descriptors
      if (got.n === 0) return this.#drop(c);
      if (got.n < 0) break;
      const merged = new Uint8Array(c.buf.length + got.n);
      merged.set(c.buf);
      merged.set(this.#recv.subarray(0, got.n), c.buf.length);
      c.buf = merged;
    }
    let frames: Uint8Array[];
    try {
      ({ frames, rest: c.buf } = takeFrames(c.buf));
    } catch (e) {
      this.#reply(c, 0, { code: "EPROTO", message: (e as Error).message });
      return this.#drop(c);
    }
    for (const f of frames) {
      if (!this.#conns.has(c.fd)) return;
      await this.#handle(c, f);
    }
  }

  async #handle(c: Conn, frame: Uint8Array): Promise<void> {
    let req: Request;
    try {
      req = parseRequest(frame);
    } catch (e) {
      // Malformed or unknown: say why, then hang up (the stream may be out of step).
      this.#reply(c, 0, { code: "EPROTO", message: (e as Error).message });
      return this.#drop(c);
    }
    try {
      const { result, fd } = await this.handlers.onRequest(c, req);
      this.#send(c, { v: PROTOCOL_VERSION, id: req.id, ok: true, result }, fd);
      if (fd !== undefined) closeFd(fd);
    } catch (e) {
      const err = e instanceof VmlanError ? { code: e.code, message: e.message } : { code: "EINTERNAL", message: String((e as Error).message ?? e) };
      if (!(e instanceof VmlanError)) this.log(`internal error on ${req.op}: ${err.message}`);
      this.#reply(c, req.id, err);
    }
  }

  #reply(c: Conn, id: number, error: { code: string; message: string }): void {
    this.#send(c, { v: PROTOCOL_VERSION, id, ok: false, error });
  }

  #send(c: Conn, msg: unknown, fd?: number): void {
    const frame = encodeFrame(msg);
    try {
      // Replies are far below the socket buffer; a client that stops reading is dropped, not waited for.
      const n = sendWithFd(c.fd, frame, fd);
      if (n !== frame.length) this.#drop(c);
    } catch {
      this.#drop(c);
    }
  }

  #drop(c: Conn): void {
    if (!this.#conns.delete(c.fd)) return;
    closeFd(c.fd);
    this.handlers.onDisconnect(c);
  }
}
