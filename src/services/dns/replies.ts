/**
 * Pieces of vmlan's own DNS replies: the EDNS0 OPT record it answers with (RFC 6891: payload size
 * 1232 as dnsmasq and the 2020 DNS flag day use, version 0, DO copied back per RFC 3225), the SOA
 * of the zone a negative answer comes from (RFC 2308 §3), and error replies that keep the
 * question (and OPT) of the query when it has a readable one.
 */
import { HEADER_LEN, scanMessage, type Opt } from "./wire.ts";

/** dnsmasq's EDNS_PKTSZ and the DNS flag day 2020 size: no fragmentation anywhere. */
export const EDNS_PAYLOAD = 1232;
/** RFC 6891 §9: BADVERS, extended rcode 16. */
export const BADVERS = 16;
const DO = 0x8000;

/** Our OPT record in dns-packet's shape, answering the query's `opt`, with extended rcode `rcode` (0 or BADVERS). */
export function optAnswer(queryDo: boolean, rcode = 0): { type: "OPT"; name: "."; udpPayloadSize: number; extendedRcode: number; ednsVersion: 0; flags: number; options: [] } {
  return { type: "OPT", name: ".", udpPayloadSize: EDNS_PAYLOAD, extendedRcode: rcode >> 4, ednsVersion: 0, flags: queryDo ? DO : 0, options: [] };
}

/** The same OPT record as wire bytes (owner root, type 41, class = payload size, TTL = ext-rcode/version/flags, no options). */
function optBytes(opt: Opt): Uint8Array {
  return Uint8Array.of(0, 0, 41, EDNS_PAYLOAD >> 8, EDNS_PAYLOAD & 0xff, 0, 0, opt.dnssecOk ? 0x80 : 0, 0, 0, 0);
}

/**
 * A response with `rcode` for `query`: its id, opcode and RD; its question and an OPT record when
 * the query has a readable question (RFC 2308 and good manners: SERVFAIL says what failed);
 * header only when it does not (garbage gets FORMERR).
 */
export function errorReply(query: Uint8Array, rcode: number): Uint8Array {
  const scan = query.length >= HEADER_LEN ? scanMessage(query) : null;
  const question = scan ? query.subarray(HEADER_LEN, scan.questionEnd) : new Uint8Array(0);
  const opt = scan?.opt ? optBytes(scan.opt) : new Uint8Array(0);
  const out = new Uint8Array(HEADER_LEN + question.length + opt.length);
  out.set(query.subarray(0, 2)); // id
  out[2] = 0x80 | (query[2]! & 0x78) | (query[2]! & 0x01); // QR, opcode, RD
  out[3] = 0x80 | (rcode & 0x0f); // RA + rcode
  out[5] = scan ? 1 : 0;
  out[11] = opt.length > 0 ? 1 : 0;
  out.set(question, HEADER_LEN);
  out.set(opt, HEADER_LEN + question.length);
  return out;
}

export interface SoaZone { domain: string; subnet: string; subnetV6: string | null }

/** The apex of the zone `name` (lowercase, no trailing dot) belongs to: a reverse zone on an octet/nibble boundary, `vmlan`, or the domain. */
export function apexOf(name: string, z: SoaZone, suffix: string): string {
  if (name.endsWith(".in-addr.arpa")) {
    const [base, prefix] = z.subnet.split("/");
    const octets = Math.max(1, Math.floor(Number(prefix) / 8));
    return `${base!.split(".").slice(0, octets).reverse().join(".")}.in-addr.arpa`;
  }
  if (name.endsWith(".ip6.arpa") && z.subnetV6) {
    const labels = name.slice(0, -".ip6.arpa".length).split(".");
    const nibbles = Math.max(1, Math.floor(Number(z.subnetV6.split("/")[1]) / 4));
    return `${labels.slice(labels.length - nibbles).join(".")}.ip6.arpa`;
  }
  if (name === z.domain || name.endsWith(`.${z.domain}`) || !name.includes(".")) return z.domain;
  return suffix;
}

/** The SOA record of `apex`; its MINIMUM (the negative TTL) and its own TTL are `ttl`. */
export function soaRecord(apex: string, domain: string, ttl: number) {
  return {
    type: "SOA" as const, name: apex, ttl, class: "IN" as const,
    data: { mname: `gateway.${domain}`, rname: `hostmaster.${domain}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: ttl },
  };
}
