/**
 * Forwarded answers, kept within their TTL (RFC 1035 §3.2.1; negative answers for the SOA's
 * min(TTL, MINIMUM), RFC 2308 §5) and within bounds: at most MAX_ENTRIES answers and MAX_BYTES of
 * them (systemd-resolved keeps 4096 entries and nothing past 2 h; so does this), least recently
 * used first out. A hit is the stored response with the client's id, RD bit and question (its
 * letter case), and every TTL lowered by the time it spent here.
 */
import { HEADER_LEN, scanMessage, type Scan } from "./wire.ts";

export const MAX_ENTRIES = 4096;
export const MAX_BYTES = 4 * 1024 * 1024;
/** systemd-resolved's CACHE_TTL_MAX_USEC: nothing is kept longer than two hours. */
export const MAX_TTL_SECONDS = 7200;
const TC = 0x0200;
const RD = 0x0100;
/** RFC 1035 §4.2.1: without EDNS0 a UDP answer is at most 512 bytes. */
const CLASSIC_UDP = 512;

interface Entry { bytes: Uint8Array; ttlAt: number[]; ttls: number[]; storedAt: number; expiresAt: number }

/**
 * What makes answers interchangeable: the question, and whether the client speaks EDNS0 with or
 * without DO (an OPT record must not go to a client that sent none, RFC 6891 §7) and sets CD.
 */
export function cacheKey(q: Scan): string {
  const edns = q.opt ? (q.opt.dnssecOk ? "do" : "e") : "-";
  return `${q.qname}|${q.qtype}|${q.qclass}|${edns}|${q.flags & 0x0010 ? "cd" : ""}`;
}

export class AnswerCache {
  readonly #map = new Map<string, Entry>();
  #bytes = 0;
  hits = 0;
  misses = 0;

  constructor(readonly maxEntries = MAX_ENTRIES, readonly maxBytes = MAX_BYTES, readonly now: () => number = Date.now) {}

  get size(): number {
    return this.#map.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The cached answer to `query` (scanned as `q`), made for that client, or null. */
  get(query: Uint8Array, q: Scan, udp: boolean): Uint8Array | null {
    const key = cacheKey(q);
    const e = this.#map.get(key);
    const t = this.now();
    const limit = !udp ? Infinity : q.opt ? Math.max(CLASSIC_UDP, q.opt.udpSize) : CLASSIC_UDP;
    if (!e || t >= e.expiresAt || e.bytes.length > limit || e.bytes.length < q.questionEnd) {
      if (e && t >= e.expiresAt) this.#drop(key, e);
      this.misses++;
      return null;
    }
    this.#map.delete(key); // re-insert: Map order is the LRU order
    this.#map.set(key, e);
    this.hits++;
    const out = e.bytes.slice();
    out.set(query.subarray(0, 2)); // id
    out[2] = (out[2]! & ~(RD >> 8)) | (query[2]! & (RD >> 8));
    out.set(query.subarray(HEADER_LEN, q.questionEnd), HEADER_LEN); // same name up to case, so same length
    const age = Math.floor((t - e.storedAt) / 1000);
    const dv = new DataView(out.buffer);
    e.ttlAt.forEach((at, i) => dv.setUint32(at, Math.max(0, e.ttls[i]! - age)));
    return out;
  }

  /** Keeps `response` to `q` when it may be cached: one matching question, not truncated, NOERROR or NXDOMAIN, a TTL above 0. */
  put(q: Scan, response: Uint8Array): void {
    const r = scanMessage(response);
    if (!r || r.qname !== q.qname || r.qtype !== q.qtype || r.qclass !== q.qclass || r.flags & TC) return;
    if (r.rcode !== 0 && r.rcode !== 3) return;
    const negative = r.rcode === 3 || r.counts[1] === 0;
    const ttl = Math.min(MAX_TTL_SECONDS, (negative ? r.soaNegativeTtl : r.minTtl) ?? 0);
    if (ttl <= 0 || response.length > this.maxBytes / 64) return;
    const dv = new DataView(response.buffer, response.byteOffset, response.byteLength);
    const t = this.now();
    const key = cacheKey(q);
    const old = this.#map.get(key);
    if (old) this.#drop(key, old);
    const bytes = response.slice();
    this.#map.set(key, { bytes, ttlAt: r.ttlAt, ttls: r.ttlAt.map((at) => dv.getUint32(at)), storedAt: t, expiresAt: t + ttl * 1000 });
    this.#bytes += bytes.length;
    for (const [k, e] of this.#map) {
      if (this.#map.size <= this.maxEntries && this.#bytes <= this.maxBytes) break;
      this.#drop(k, e);
    }
  }

  #drop(key: string, e: Entry): void {
    this.#map.delete(key);
    this.#bytes -= e.bytes.length;
  }
}
