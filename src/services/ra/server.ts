/**
 * Router advertisements for a network with an IPv6 prefix: guests configure prefix + EUI-64 of
 * their MAC by SLAAC, which is exactly the address vmlan's IPAM records for them (ipam/ipv6.ts),
 * plus the gateway as DNS server (RDNSS) and the network's domain (DNSSL). Host-only networks
 * advertise a router lifetime of 0 (on-link prefix, no default route). Driven by one main-thread
 * timer for every server (ticker.ts): every CHECK_MS one poll over all their sockets, a read where
 * a solicitation is queued; an unsolicited RA every UNSOLICITED_MS. The advertisement is encoded once (a change of the network restarts the server).
 * A bridge without a port has no link-local address and cannot send: the first RA is then retried
 * with a back-off, not every tick (200 such networks kept a core 13 % busy), while a solicitation,
 * which only comes once a guest is there, is answered at once.
 */
import type { Store } from "../../core/store/store.ts";
import { parseSubnetV6, v6ToBig } from "../../core/ipam/subnet.ts";
import { dnsDomainOf, type Network } from "../../core/resources/network.ts";
import { type Logger, RateLimited } from "../log.ts";
import { RaSocket } from "./socket.ts";
import { encodeRa } from "./wire.ts";
import { Ticker } from "./ticker.ts";

/** How often queued router solicitations are looked at: a booting guest waits at most this long. */
export const CHECK_MS = 250;
/** Unsolicited RAs (RFC 4861 MaxRtrAdvInterval may be 4-1800 s): often enough for guests that never solicit. */
export const UNSOLICITED_MS = 30_000;
/** RFC 4861 §6.2.6 asks for at least 3 s between multicast RAs; 1 s keeps a boot burst quick yet bounded. */
const MIN_GAP_MS = 1_000;
/** The longest wait between tries of a first RA that the kernel could not send yet. */
const FIRST_RETRY_MAX_MS = 4_000;
/** Shared networks: the gateway is a default router for 30 min (refreshed every 30 s). */
const ROUTER_LIFETIME_S = 1800;
/** The one timer all of this process's servers share. */
export const raTicker = new Ticker(CHECK_MS);

function bytes16(addr: string): Uint8Array {
  const n = v6ToBig(addr);
  return Uint8Array.from({ length: 16 }, (_, i) => Number((n >> BigInt(8 * (15 - i))) & 0xffn));
}

export function raFor(n: Network): Uint8Array {
  const p = parseSubnetV6(n.subnetV6!);
  return encodeRa({
    prefix: bytes16(p.cidr.split("/")[0]!), prefixLength: p.prefix, routerLifetime: n.mode === "shared" ? ROUTER_LIFETIME_S : 0, mtu: n.mtu,
    dns: n.gatewayV6 ? bytes16(n.gatewayV6) : null, domain: dnsDomainOf(n),
    validLifetime: 3600, preferredLifetime: 1800, dnsLifetime: (3 * UNSOLICITED_MS) / 1000,
  });
}

export class RaServer {
  readonly #socket: RaSocket;
  readonly #failed: RateLimited;
  #lastSent = -Infinity;
  #sent = 0;
  /** Before the first RA went out: when to try again, and the wait after the next failure. */
  #retryAt = -Infinity;
  #retryMs = CHECK_MS;
  #ra: Uint8Array | null = null;

  private constructor(readonly network: string, readonly store: Store, readonly log: Logger, socket: RaSocket) {
    this.#socket = socket;
    this.#failed = new RateLimited(log, "router advertisements not sent");
    raTicker.add(this);
    this.tick(true);
  }

  static start(o: { network: string; bridge: string; store: Store; log: Logger }): RaServer {
    return new RaServer(o.network, o.store, o.log, RaSocket.open(o.bridge));
  }

  get fd(): number {
    return this.#socket.fd;
  }

  /** One look (raTicker's): `readable` when a solicitation may be queued on the socket. */
  tick(readable: boolean): void {
    try {
      const now = Date.now();
      const solicited = readable && this.#socket.drainSolicits() > 0;
      // Until one RA went out (the bridge may have no link-local address yet), try again after a back-off.
      const due = solicited || (this.#sent === 0 ? now >= this.#retryAt : now - this.#lastSent >= UNSOLICITED_MS);
      if (!due || now - this.#lastSent < MIN_GAP_MS) return;
      if (!this.#ra) {
        const net = this.store.getNetwork(this.network);
        if (!net?.subnetV6) return;
        this.#ra = raFor(net);
      }
      if (this.#socket.send(this.#ra)) {
        this.#lastSent = now;
        this.#sent++;
      } else if (this.#sent > 0) this.#failed.hit("the kernel refused to send (no link-local address on the bridge?)");
      else {
        this.#retryAt = now + this.#retryMs;
        this.#retryMs = Math.min(FIRST_RETRY_MAX_MS, this.#retryMs * 2);
      }
    } catch (e) {
      this.#failed.hit((e as Error).message);
    }
  }

  stop(): void {
    raTicker.delete(this);
    this.#socket.close();
  }
}
