/**
 * Forwarding with bounded resources: at most MAX_INFLIGHT queries out at once (Unbound's
 * num-queries-per-thread, 1024; dnsmasq's dns-forward-max is 150, which a single guest bursting
 * 60 queries per 10 ms already fills; past it a query is dropped, as both do, and the client
 * retries), at most PER_CLIENT of them from one client address (so one flooding guest cannot take
 * the others' share), and a few long-lived UDP sockets per upstream instead of one per query.
 * An entry costs a timer and a few hundred bytes; the sockets are what cost fds. Each socket is
 * connected to its upstream, so the kernel drops datagrams from anyone else; a query leaves with a
 * fresh random id, and an answer counts only with that id and the same question (case aside).
 * An upstream that refuses (ICMP port unreachable: ECONNREFUSED on the connected socket) fails the
 * queries waiting on it at once instead of after the timeout, and is skipped for a moment.
 */
import { askUpstreamTcp, UPSTREAM_TIMEOUT_MS, type Upstream } from "./forward.ts";
import { HEADER_LEN } from "./wire.ts";

export const MAX_INFLIGHT = 1024;
/** A quarter of MAX_INFLIGHT per client address: four flooding guests at most fill it. */
export const PER_CLIENT = 256;
/** Sockets per upstream: 4 × 65,536 ids, plenty for 1024 in flight, and a few fds in all. */
export const SOCKETS_PER_UPSTREAM = 4;
/** How long an upstream that refused is skipped. */
const REFUSED_PAUSE_MS = 1000;

type Pending = { question: Uint8Array; clientId: [number, number]; done: (r: Uint8Array | null) => void };
type Sock = { udp: Bun.udp.ConnectedSocket<"uint8array">; pending: Map<number, Pending> };
type Pool = { key: string; socks: Promise<Sock>[]; refusedUntil: number };

export type Outcome = Uint8Array | "unanswered" | "busy";
export interface ForwarderEvents { refused(upstream: string, code: string): void }

const lower = (c: number) => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c);

/** Same question section, ASCII letters compared without case (RFC 4343). */
function sameQuestion(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (lower(a[i]!) !== lower(b[i]!)) return false;
  return true;
}

export class Forwarder {
  readonly #pools = new Map<string, Pool>();
  readonly #perClient = new Map<string, number>();
  #inflight = 0;
  #closed = false;

  constructor(readonly events: ForwarderEvents, readonly maxInflight = MAX_INFLIGHT, readonly timeoutMs = UPSTREAM_TIMEOUT_MS) {}

  get inflight(): number {
    return this.#inflight;
  }

  /** Open sockets, for the daemon's own accounting and tests. */
  get sockets(): number {
    return [...this.#pools.values()].reduce((n, p) => n + p.socks.length, 0);
  }

  /** Sends `query` (its question ends at `questionEnd`) from `client` to each upstream in turn until one answers. */
  async forward(query: Uint8Array, questionEnd: number, list: Upstream[], tcp: boolean, client: string): Promise<Outcome> {
    const mine = this.#perClient.get(client) ?? 0;
    if (this.#inflight >= this.maxInflight || mine >= PER_CLIENT) return "busy";
    this.#inflight++;
    this.#perClient.set(client, mine + 1);
    try {
      for (const u of list) {
        const r = tcp ? await askUpstreamTcp(query, u, this.timeoutMs) : await this.#askUdp(query, questionEnd, u);
        if (r) return r;
      }
      return "unanswered";
    } finally {
      this.#inflight--;
      const left = (this.#perClient.get(client) ?? 1) - 1;
      if (left > 0) this.#perClient.set(client, left);
      else this.#perClient.delete(client);
    }
  }

  #pool(u: Upstream): Pool {
    const key = u.host.includes(":") ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`;
    let p = this.#pools.get(key);
    if (!p) {
      p = { key, socks: [], refusedUntil: 0 };
      this.#pools.set(key, p);
    }
    return p;
  }

  #open(u: Upstream, p: Pool): Promise<Sock> {
    const pending = new Map<number, Pending>();
    return Bun.udpSocket({
      binaryType: "uint8array",
      connect: { hostname: u.host, port: u.port },
      socket: {
        data: (_s, data) => {
          if (data.length < HEADER_LEN) return;
          const w = pending.get((data[0]! << 8) | data[1]!);
          if (!w || !sameQuestion(w.question, data.subarray(HEADER_LEN, HEADER_LEN + w.question.length))) return;
          const out = data.slice();
          out[0] = w.clientId[0];
          out[1] = w.clientId[1];
          w.done(out);
        },
        // Bun calls this with the error alone. A refusal on a connected socket is about its upstream: fail what waits on it.
        error: (...args: unknown[]) => {
          const e = args.find((a) => a instanceof Error) as (Error & { code?: string }) | undefined;
          p.refusedUntil = Date.now() + REFUSED_PAUSE_MS;
          for (const w of [...pending.values()]) w.done(null);
          this.events.refused(p.key, e?.code ?? e?.message ?? "error");
        },
      },
    }).then((udp) => ({ udp, pending }));
  }

  async #askUdp(query: Uint8Array, questionEnd: number, u: Upstream): Promise<Uint8Array | null> {
    if (this.#closed) return null;
    const p = this.#pool(u);
    if (Date.now() < p.refusedUntil) return null;
    const slot = Math.floor(Math.random() * SOCKETS_PER_UPSTREAM);
    if (p.socks.length <= slot) p.socks.push(this.#open(u, p));
    const opening = p.socks[Math.min(slot, p.socks.length - 1)]!;
    let sock: Sock;
    try {
      sock = await opening;
    } catch {
      p.socks = p.socks.filter((s) => s !== opening); // e.g. no IPv6 route: try again next time
      return null;
    }
    let id = 0;
    do id = Math.floor(Math.random() * 0x10000); while (sock.pending.has(id));
    const out = query.slice();
    out[0] = id >> 8;
    out[1] = id & 0xff;
    return new Promise<Uint8Array | null>((resolve) => {
      const timer = setTimeout(() => finish(null), this.timeoutMs);
      const finish = (r: Uint8Array | null) => {
        if (sock.pending.get(id) !== entry) return;
        sock.pending.delete(id);
        clearTimeout(timer);
        resolve(r);
      };
      const entry: Pending = { question: query.slice(HEADER_LEN, questionEnd), clientId: [query[0]!, query[1]!], done: finish };
      sock.pending.set(id, entry);
      try {
        if (!sock.udp.send(out)) finish(null); // the socket buffer is full: this one is lost, like a dropped datagram
      } catch {
        finish(null);
      }
    });
  }

  /** Closes every socket; what waits resolves unanswered. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#pools.values()) {
      for (const s of await Promise.all(p.socks)) {
        for (const w of [...s.pending.values()]) w.done(null);
        s.udp.close();
      }
    }
    this.#pools.clear();
  }
}
