/**
 * One network's DHCP server: a DhcpSocket on the bridge, received by the daemon's one receiving
 * Worker (receiver.ts), and on the main thread parse (wire.ts) → decide (policy.ts, over the
 * store's attachments) → encode → send. Malformed packets are counted and logged rate-limited; no
 * packet can take the server down.
 */
import type { LeaseService } from "../../core/leases.ts";
import type { Store } from "../../core/store/store.ts";
import { GuestLog, type Logger, RateLimited } from "../log.ts";
import { decide, storeLeaseBook, type LeaseBook } from "./policy.ts";
import { DhcpSocket } from "./socket.ts";
import { DhcpParseError, encodeDhcp, MESSAGE_TYPE_NAMES, parseDhcp } from "./wire.ts";
import { DhcpReceiver, type Receiving } from "./receiver.ts";

export interface DhcpServerOptions {
  network: string;
  bridge: string;
  store: Store;
  leases: LeaseService;
  log: Logger;
  /** Called once when receiving fails (the socket, or the receiving Worker); the supervisor restarts the server. */
  onCrash: (reason: string) => void;
  port?: number;
}

export class DhcpServer {
  readonly #o: DhcpServerOptions;
  readonly #socket: DhcpSocket;
  readonly #receiving: Receiving;
  readonly #bad: RateLimited;
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
    this.#receiving = DhcpReceiver.shared().add(socket.unsafeFd(), (bytes) => this.handle(bytes), (reason) => {
      if (!this.#stopping) o.onCrash(reason);
    });
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

  /** Stops receiving (bounded wait for the Worker to let go of the socket), then closes the socket. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await this.#receiving.stop();
    this.#socket.close();
    this.#lines.stop();
  }
}
