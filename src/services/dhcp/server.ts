/**
 * One network's DHCP server: a DhcpSocket on the bridge, a Worker that receives, and on the main
 * thread parse (wire.ts) → decide (policy.ts, over the store's attachments) → encode → send.
 * Malformed packets are counted and logged rate-limited; no packet can take the server down.
 */
import type { LeaseService } from "../../core/leases.ts";
import type { Store } from "../../core/store/store.ts";
import { GuestLog, type Logger, RateLimited } from "../log.ts";
import { decide, storeLeaseBook, type LeaseBook } from "./policy.ts";
import { DhcpSocket } from "./socket.ts";
import { DhcpParseError, encodeDhcp, MESSAGE_TYPE_NAMES, parseDhcp } from "./wire.ts";
import { CONTROL_PENDING, CONTROL_STOP, POLL_MS, type DhcpWorkerInit, type DhcpWorkerMessage } from "./worker.ts";

/**
 * The Worker's entry. From source it sits next to this file; in the compiled binary it is an extra
 * entry point (scripts/build.ts ENTRY_POINTS) stored under /$bunfs/root/ by its path relative to
 * src/, and a relative specifier resolves against that root (as src/datapath/workers.ts measured).
 */
function workerUrl(): string {
  return import.meta.url.startsWith("file:///$bunfs/") ? "./services/dhcp/worker.ts" : new URL("./worker.ts", import.meta.url).href;
}

export interface DhcpServerOptions {
  network: string;
  bridge: string;
  store: Store;
  leases: LeaseService;
  log: Logger;
  /** Called once when the receiving Worker dies on its own; the supervisor restarts the server. */
  onCrash: (reason: string) => void;
  port?: number;
}

/** Grace for the Worker to see the stop flag: a few poll periods. */
const STOP_GRACE_MS = POLL_MS * 5;

export class DhcpServer {
  readonly #o: DhcpServerOptions;
  readonly #socket: DhcpSocket;
  readonly #worker: Worker;
  readonly #control = new SharedArrayBuffer(8);
  readonly #bad: RateLimited;
  readonly #stopped: Promise<void>;
  #stopping = false;
  /** Every line a client's packet causes: per message type, a burst per interval, then a summary. */
  readonly #lines: GuestLog;
  /** One per server: it remembers clients that declined an attached address. */
  readonly #book: LeaseBook;

  private constructor(o: DhcpServerOptions, socket: DhcpSocket) {
    this.#o = o;
    this.#socket = socket;
    this.#bad = new RateLimited(o.log, "malformed DHCP packets");
    this.#lines = new GuestLog(o.log);
    this.#book = storeLeaseBook(o.store, o.leases, o.network);
    this.#worker = new Worker(workerUrl());
    this.#stopped = new Promise<void>((resolve) => {
      this.#worker.onmessage = (ev: MessageEvent<DhcpWorkerMessage>) => {
        const m = ev.data;
        if (m.kind === "packet") {
          this.handle(m.bytes);
          return void Atomics.sub(new Int32Array(this.#control), CONTROL_PENDING, 1);
        }
        resolve();
        if (m.kind === "error" && !this.#stopping) o.onCrash(m.message);
      };
      this.#worker.onerror = (ev) => {
        resolve();
        if (!this.#stopping) o.onCrash(ev.message);
      };
    });
    this.#worker.postMessage({ fd: socket.unsafeFd(), control: this.#control } satisfies DhcpWorkerInit);
  }

  /** Opens the socket on the bridge (throws SyscallError when it cannot) and starts receiving. */
  static start(o: DhcpServerOptions): DhcpServer {
    return new DhcpServer(o, DhcpSocket.open(o.bridge, o.port));
  }

  /** One datagram from the wire. Never throws. */
  handle(bytes: Uint8Array): void {
    try {
      const msg = parseDhcp(bytes);
      const net = this.#o.store.getNetwork(this.#o.network);
      if (!net || !net.dhcp) return; // removed or switched off: the supervisor stops us soon
      const d = decide(net, msg, this.#book);
      if (d.log) this.#lines.line(MESSAGE_TYPE_NAMES[msg.type] ?? "DHCP", d.log);
      if (d.reply && !this.#socket.sendTo(encodeDhcp(d.reply), d.to, d.port)) this.#lines.line("send", `send buffer full: reply to ${msg.chaddr} dropped`);
    } catch (e) {
      if (e instanceof DhcpParseError) this.#bad.hit(e.message);
      else this.#lines.line("error", `error handling a packet: ${(e as Error).message}`);
    }
  }

  /** Stops the Worker (bounded wait), then closes the socket. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    Atomics.store(new Int32Array(this.#control), CONTROL_STOP, 1);
    await Promise.race([this.#stopped, Bun.sleep(STOP_GRACE_MS)]);
    this.#worker.terminate();
    this.#socket.close();
    this.#lines.stop();
  }
}
