/**
 * One network's DNS responder on its gateway address(es), port 53, UDP and TCP (RFC 1035 §4.2:
 * TCP messages carry a 2-byte length prefix). Names come from the store on every query, so a new
 * `vmlan attach` resolves at once. Transport only: answers come from zone.ts, upstreams from forward.ts.
 */
import type { Store } from "../../core/store/store.ts";
import { intToV4 } from "../../core/ipam/subnet.ts";
import { dnsDomainOf } from "../../core/resources/network.ts";
import { type Logger, RateLimited } from "../log.ts";
import { answer, DNS_HEADER_LEN, errorReply, RCODE, type Zone } from "./zone.ts";
import { forward, tcpFrame, upstreams } from "./forward.ts";

export const DNS_PORT = 53;
/** An idle TCP client is dropped after this many seconds (RFC 7766 suggests "a few seconds"). */
const TCP_IDLE_SECONDS = 10;

export interface DnsServerOptions {
  network: string;
  store: Store;
  log: Logger;
  /** Every vmlan gateway address: never used as an upstream (that would loop). */
  ownAddresses: () => Set<string>;
  port?: number;
}

type TcpState = { buf: Uint8Array };

export class DnsServer {
  readonly #o: DnsServerOptions;
  readonly #bad: RateLimited;
  #udp: Array<{ close(): void }> = [];
  #tcp: Array<{ stop(force?: boolean): void }> = [];

  private constructor(o: DnsServerOptions) {
    this.#o = o;
    this.#bad = new RateLimited(o.log, "malformed DNS queries");
  }

  /** Binds UDP and TCP on the network's gateway (and IPv6 gateway when it has one). Throws when binding fails. */
  static async start(o: DnsServerOptions): Promise<DnsServer> {
    const s = new DnsServer(o);
    const net = o.store.getNetwork(o.network);
    if (!net) throw new Error(`network "${o.network}" is gone`);
    try {
      for (const host of [net.gateway, ...(net.gatewayV6 ? [net.gatewayV6] : [])]) await s.#bind(host, o.port ?? DNS_PORT);
    } catch (e) {
      s.stop();
      throw e;
    }
    return s;
  }

  async #bind(hostname: string, port: number): Promise<void> {
    const udp = await Bun.udpSocket({
      hostname, port,
      socket: {
        data: (sock, data, rport, raddr) => {
          void this.handle(new Uint8Array(data), false).then((r) => { if (r) sock.send(r, rport, raddr); });
        },
      },
    });
    this.#udp.push(udp);
    const tcp = Bun.listen<TcpState>({
      hostname, port,
      socket: {
        open: (s) => { s.data = { buf: new Uint8Array(0) }; s.timeout(TCP_IDLE_SECONDS); },
        data: (s, chunk) => this.#tcpData(s, chunk),
        timeout: (s) => { s.end(); },
        error: () => {},
      },
    });
    this.#tcp.push(tcp);
  }

  #tcpData(s: Bun.Socket<TcpState>, chunk: Uint8Array): void {
    const prev = s.data.buf;
    const buf = new Uint8Array(prev.length + chunk.length);
    buf.set(prev);
    buf.set(chunk, prev.length);
    let at = 0;
    while (buf.length - at >= 2) {
      const len = (buf[at]! << 8) | buf[at + 1]!;
      if (len < DNS_HEADER_LEN) {
        this.#bad.hit(`TCP message of ${len} bytes`);
        s.end(); // the framing is lost: nothing after this can be trusted
        return;
      }
      if (buf.length - at - 2 < len) break;
      const msg = buf.slice(at + 2, at + 2 + len);
      at += 2 + len;
      void this.handle(msg, true).then((r) => { if (r) s.write(tcpFrame(r)); });
    }
    s.data.buf = buf.slice(at);
  }

  #zone(): Zone {
    const { store, network } = this.#o;
    const net = store.getNetwork(network);
    if (!net) throw new Error(`network "${network}" is gone`);
    return {
      domain: dnsDomainOf(net), network: net.name, gateway: net.gateway, gatewayV6: net.gatewayV6, subnet: net.subnet, subnetV6: net.subnetV6,
      records: store.listLeases(network).map((l) => ({ hostname: l.hostname, v4: intToV4(l.addr), v6: l.addressV6 })),
    };
  }

  /** One query in, the response out (null: drop). Never throws: a failure becomes SERVFAIL. */
  async handle(query: Uint8Array, tcp: boolean): Promise<Uint8Array | null> {
    try {
      const out = answer(query, () => this.#zone());
      if (out.kind === "drop") {
        this.#bad.hit(out.note);
        return null;
      }
      if (out.kind === "reply") {
        if (out.note) this.#bad.hit(out.note);
        return out.bytes;
      }
      const r = await forward(query, upstreams(this.#o.ownAddresses()), tcp);
      if (!r) this.#o.log(`no upstream answered for ${out.name}`);
      return r ?? errorReply(query, RCODE.SERVFAIL);
    } catch (e) {
      this.#o.log(`error answering a query: ${(e as Error).message}`);
      return query.length >= DNS_HEADER_LEN ? errorReply(query, RCODE.SERVFAIL) : null;
    }
  }

  /** Closes every socket. Idempotent. */
  stop(): void {
    for (const u of this.#udp.splice(0)) u.close();
    for (const t of this.#tcp.splice(0)) t.stop(true);
  }
}
