/**
 * One network's DNS responder on its gateway address(es), port 53, UDP and TCP (RFC 1035 §4.2:
 * TCP messages carry a 2-byte length prefix, tcp.ts). Names come from the store on every query, one
 * index lookup each (so a new `vmlan attach` resolves at once, and 10,000 guests cost what 10 do). Transport only: answers come from zone.ts; other names from the
 * cache (cache.ts) or the upstreams (forward.ts for the list, forwarder.ts to ask them).
 */
import type { Store } from "../../core/store/store.ts";
import { intToV4, v4ToInt, v6ToBig } from "../../core/ipam/subnet.ts";
import { macOfEui64 } from "../../core/ipam/ipv6.ts";
import type { LeaseRow } from "../../core/ipam/lease-tx.ts";
import { dnsDomainOf, type Network } from "../../core/resources/network.ts";
import { GuestLog, type Logger, RateLimited } from "../log.ts";
import { answer, DNS_HEADER_LEN, errorReply, RCODE, type Zone, type ZoneNames, type ZoneRecord } from "./zone.ts";
import { upstreams, type Upstream } from "./forward.ts";
import { listenTcp } from "./tcp.ts";
import { AnswerCache } from "./cache.ts";
import { Forwarder, MAX_INFLIGHT, PER_CLIENT } from "./forwarder.ts";
import { scanMessage } from "./wire.ts";

export const DNS_PORT = 53;
/** resolv.conf is read again at most this often (not once per query under a flood). */
const UPSTREAMS_TTL_MS = 1000;

export interface DnsServerOptions {
  network: string;
  store: Store;
  log: Logger;
  /** Every vmlan gateway address: never used as an upstream (that would loop). */
  ownAddresses: () => Set<string>;
  port?: number;
}

export class DnsServer {
  readonly #o: DnsServerOptions;
  readonly #bad: RateLimited;
  readonly #lines: GuestLog;
  readonly #gone: RateLimited;
  readonly #cache = new AnswerCache();
  readonly #forwarder: Forwarder;
  #upstreams: { at: number; list: Upstream[] } = { at: -Infinity, list: [] };
  #udp: Array<{ close(): void }> = [];
  /** The zone's fixed part: a change of domain, gateway or subnets restarts the server (supervisor.ts configKey). */
  #zone: Zone | null = null;
  #tcp: Array<{ stop(force?: boolean): void }> = [];

  private constructor(o: DnsServerOptions) {
    this.#o = o;
    this.#bad = new RateLimited(o.log, "malformed DNS queries");
    this.#lines = new GuestLog(o.log);
    this.#gone = new RateLimited(o.log, "ICMP errors from clients");
    this.#forwarder = new Forwarder({
      refused: (upstream, code) => this.#lines.line("upstream", `upstream ${upstream} refused a query (${code}); not asked again for a second`),
    });
  }

  /** Binds UDP and TCP on the network's gateway (and IPv6 gateway when it has one). Throws when binding fails. */
  static async start(o: DnsServerOptions): Promise<DnsServer> {
    const s = new DnsServer(o);
    const net = o.store.getNetwork(o.network);
    if (!net) throw new Error(`network "${o.network}" is gone`);
    s.#zone = zoneOf(net, storeNames(o.store, o.network));
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
          void this.handle(new Uint8Array(data), false, raddr).then((r) => {
            if (!r) return;
            try {
              sock.send(r, rport, raddr);
            } catch {
              // The client's port is gone (ICMP unreachable reported here) or the buffer is full: its loss.
            }
          });
        },
        // A client that closed its port before our answer came back shows up as ECONNREFUSED on this
        // socket (Bun sets IP_RECVERR). Without this handler it is an uncaught exception per query.
        error: () => this.#gone.hit("a client's port was closed before its answer arrived"),
      },
    });
    this.#udp.push(udp);
    const tcp = listenTcp(hostname, port, (msg, client) => this.handle(msg, true, client), this.#bad);
    this.#tcp.push(tcp);
  }

  #upstreamList(): Upstream[] {
    const now = Date.now();
    if (now - this.#upstreams.at >= UPSTREAMS_TTL_MS) this.#upstreams = { at: now, list: upstreams(this.#o.ownAddresses()) };
    return this.#upstreams.list;
  }

  /** One query in, the response out (null: drop). Never throws: a failure becomes SERVFAIL. */
  async handle(query: Uint8Array, tcp: boolean, client = "?"): Promise<Uint8Array | null> {
    try {
      const zone = this.#zone;
      if (!zone) return null;
      const out = answer(query, () => zone);
      if (out.kind === "drop") {
        this.#bad.hit(out.note);
        return null;
      }
      if (out.kind === "reply") {
        if (out.note) this.#bad.hit(out.note);
        return out.bytes;
      }
      const q = scanMessage(query);
      if (!q) return errorReply(query, RCODE.FORMERR);
      const hit = this.#cache.get(query, q, !tcp);
      if (hit) return hit;
      const r = await this.#forwarder.forward(query, q.questionEnd, this.#upstreamList(), tcp, client);
      if (r === "busy") {
        // dnsmasq drops past dns-forward-max too: the client retries, and a flood cannot grow the daemon.
        this.#lines.line("dropped", `dropped a query from ${client} for ${out.name}: it has ${PER_CLIENT}, or all clients ${MAX_INFLIGHT}, forwarded queries waiting`);
        return null;
      }
      if (r === "unanswered") {
        this.#lines.line("unanswered", `no upstream answered for ${out.name}`);
        return errorReply(query, RCODE.SERVFAIL);
      }
      this.#cache.put(q, r);
      return r;
    } catch (e) {
      this.#lines.line("error", `error answering a query: ${(e as Error).message}`);
      return query.length >= DNS_HEADER_LEN ? errorReply(query, RCODE.SERVFAIL) : null;
    }
  }

  /** Closes every socket. Idempotent. */
  stop(): void {
    for (const u of this.#udp.splice(0)) u.close();
    for (const t of this.#tcp.splice(0)) t.stop(true);
    void this.#forwarder.close();
    this.#lines.stop();
  }
}

function zoneOf(net: Network, names: ZoneNames): Zone {
  return { domain: dnsDomainOf(net), network: net.name, gateway: net.gateway, gatewayV6: net.gatewayV6, subnet: net.subnet, subnetV6: net.subnetV6, names };
}

/** The network's guests straight from the store, one index lookup per name or address. */
function storeNames(store: Store, network: string): ZoneNames {
  const rec = (l: LeaseRow | null): ZoneRecord | null => (l && l.addr >= 0 ? { hostname: l.hostname, v4: intToV4(l.addr), v6: l.addressV6 } : null);
  return {
    byName: (h) => rec(store.liveLease(network, "hostname", h)),
    byV4: (a) => rec(store.liveLease(network, "addr", v4ToInt(a))),
    byV6: (a) => {
      // vmlan's IPv6 addresses are prefix + EUI-64 of the MAC (ipam/ipv6.ts): the MAC finds the lease.
      const mac = macOfEui64(a);
      const l = mac ? store.liveLease(network, "mac", mac) : null;
      return l?.addressV6 && v6ToBig(l.addressV6) === a ? rec(l) : null;
    },
  };
}
