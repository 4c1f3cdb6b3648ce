/**
 * The daemon's sockets on published host ports. Every port in effect is held by a listening TCP
 * socket (or a bound UDP one) so another program that tries to bind it later gets EADDRINUSE instead
 * of silently receiving nothing (the kernel DNATs the traffic away before any socket sees it), and
 * `ss -ltnp` shows vmlan as the port's owner. A hold on IPv6 loopback (a [::1] spec, or the [::1]
 * part of a [::] spec, which the kernel cannot DNAT to another device) is the userspace fallback:
 * it proxies what it receives to the guest (proxy.ts). So does every hold of a port the platform's
 * datapath cannot carry (carrier "proxy": on macOS, what vmnet's forwarding cannot do). Other holds
 * see no traffic while the rules are in place; a connection that reaches one anyway is closed at once.
 */
import net from "node:net";
import dgram from "node:dgram";
import type { PortRule } from "../../core/ports/state.ts";
import type { PortCarrier } from "../../platform/types.ts";
import { familyOf, hostAddressText, isUnspecified } from "../../core/ports/spec.ts";
import { RateLimited, type Logger } from "../log.ts";
import { proxyTcp, UdpRelay } from "./proxy.ts";

interface Hold {
  key: string;
  close(): void;
}

/** One host port of a rule, and where it leads. */
export interface HeldPort {
  proto: "tcp" | "udp";
  hostIp: string;
  port: number;
  guestAddress: string;
  guestPort: number;
  /** every connection and datagram is relayed to the guest (no kernel rule carries this port) */
  proxy?: boolean;
}

export const holdKey = (p: HeldPort): string =>
  `${p.proto} ${hostAddressText(p.hostIp)}:${p.port} ${hostAddressText(p.guestAddress)}:${p.guestPort}${p.proxy ? " proxy" : ""}`;

/** IPv6 loopback traffic reaches this hold (and must be proxied): [::1], and [::], which takes ::1 too. */
const servesLoopback6 = (p: HeldPort): boolean => familyOf(p.hostIp) === 6 && (p.hostIp === "::1" || isUnspecified(p.hostIp));

/** Whether the hold relays a connection or datagram from `from` to the guest. */
const relays = (p: HeldPort, from: string | undefined): boolean => p.proxy === true || (servesLoopback6(p) && from === "::1");

/**
 * The held ports of `rules`, one per host port; `carriers` (same order, absent: all "kernel") says
 * which the daemon serves itself ("proxy") and which it leaves alone ("vmnet" binds its own).
 */
export function portsOf(rules: PortRule[], carriers: PortCarrier[] = []): HeldPort[] {
  const out: HeldPort[] = [];
  rules.forEach((r, i) => {
    const carrier = carriers[i] ?? "kernel";
    if (carrier === "vmnet") return;
    for (let port = r.hostPort; port <= r.hostEnd; port++) {
      const p: HeldPort = { proto: r.proto, hostIp: r.hostIp, port, guestAddress: r.guestAddress, guestPort: r.guestPort + (port - r.hostPort) };
      out.push(carrier === "proxy" ? { ...p, proxy: true } : p);
    }
  });
  return out;
}

function holdTcp(p: HeldPort, log: Logger): Promise<Hold> {
  const proxy = p.proxy === true || servesLoopback6(p);
  // A client that keeps connecting while the guest refuses costs one line per interval, not one each.
  const failed = new RateLimited(log, `relayed connections to ${hostAddressText(p.guestAddress)}:${p.guestPort} that failed`);
  const server = net.createServer({ pauseOnConnect: proxy }, (conn) => {
    if (relays(p, conn.remoteAddress)) return proxyTcp(conn, p.guestAddress, p.guestPort, (m) => failed.hit(m));
    conn.destroy(); // the kernel rules should have taken it: refuse rather than hang
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    // exclusive: no SO_REUSEPORT, so another process cannot share the port; v6 only: [::] leaves 0.0.0.0 alone.
    server.listen({ host: p.hostIp, port: p.port, exclusive: true, ipv6Only: familyOf(p.hostIp) === 6, backlog: 64 }, () => {
      server.off("error", reject);
      server.on("error", (e) => log(`hold ${holdKey(p)}: ${e.message}`));
      resolve({ key: holdKey(p), close: () => server.close() });
    });
  });
}

function holdUdp(p: HeldPort, log: Logger): Promise<Hold> {
  const v6 = familyOf(p.hostIp) === 6;
  const sock = dgram.createSocket({ type: v6 ? "udp6" : "udp4", ipv6Only: v6, reuseAddr: false });
  const relay = p.proxy === true || servesLoopback6(p) ? new UdpRelay(sock, p.guestAddress, p.guestPort, log) : null;
  sock.on("message", (msg, from) => { if (relay && relays(p, from.address)) relay.forward(msg, from); });
  return new Promise((resolve, reject) => {
    sock.once("error", reject);
    sock.bind({ address: p.hostIp, port: p.port, exclusive: true }, () => {
      sock.off("error", reject);
      sock.on("error", (e) => log(`hold ${holdKey(p)}: ${e.message}`));
      resolve({ key: holdKey(p), close: () => { relay?.close(); sock.close(); } });
    });
  });
}

/** The set of holds, brought in line with the ports in effect by update(). */
export class Holds {
  readonly #held = new Map<string, Hold>();
  /** Ports that could not be held, and why (logged once per distinct reason). */
  readonly #failed = new Map<string, string>();

  constructor(private readonly log: Logger) {}

  async update(ports: HeldPort[]): Promise<void> {
    const want = new Map(ports.map((p) => [holdKey(p), p]));
    for (const [key, h] of this.#held) {
      if (want.has(key)) continue;
      h.close();
      this.#held.delete(key);
    }
    for (const key of this.#failed.keys()) if (!want.has(key)) this.#failed.delete(key);
    for (const [key, p] of want) {
      if (this.#held.has(key)) continue;
      try {
        this.#held.set(key, await (p.proto === "tcp" ? holdTcp(p, this.log) : holdUdp(p, this.log)));
        if (this.#failed.delete(key)) this.log(`holding ${key} now`);
      } catch (e) {
        const why = (e as Error).message;
        if (this.#failed.get(key) !== why) this.log(`cannot hold ${key} (${why}); the kernel rule is in place, but another program may bind the port`);
        this.#failed.set(key, why);
      }
    }
  }

  held(): string[] {
    return [...this.#held.keys()].sort();
  }

  closeAll(): void {
    for (const h of this.#held.values()) h.close();
    this.#held.clear();
  }
}
