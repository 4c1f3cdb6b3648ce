/**
 * A bounds-checked walk over a DNS message (RFC 1035 §4.1) that finds what forwarding, caching
 * and error replies need without decoding every record: the question, where each TTL sits, the
 * EDNS0 OPT record (RFC 6891) and the SOA of a negative answer (RFC 2308). Pure; null for
 * anything malformed, never a throw.
 */

export const HEADER_LEN = 12;
export const TYPE_SOA = 6;
export const TYPE_OPT = 41;
/** RFC 1035 §2.3.4: a name is at most 255 bytes; more compression jumps than that is a loop. */
const MAX_NAME = 255;
const MAX_JUMPS = 64;

export interface Opt {
  /** Offset of the OPT record's owner name (the root, one 0 byte). */
  at: number;
  udpSize: number;
  version: number;
  /** The DO bit (RFC 3225). */
  dnssecOk: boolean;
}

export interface Scan {
  id: number;
  flags: number;
  rcode: number;
  counts: [qd: number, an: number, ns: number, ar: number];
  /** End of the question section (the header plus the one question). */
  questionEnd: number;
  /** The question: lowercase name without the trailing dot ("" for the root), type, class. */
  qname: string;
  qtype: number;
  qclass: number;
  /** Offsets of the TTL field of every answer, authority and additional record but OPT. */
  ttlAt: number[];
  /** The smallest TTL among answer and authority records (null when there are none). */
  minTtl: number | null;
  /** RFC 2308 §5: min(TTL, MINIMUM) of an SOA in the authority section, for negative answers. */
  soaNegativeTtl: number | null;
  opt: Opt | null;
}

/** Reads a (possibly compressed) name at `off`; returns it lowercase and where the name ends in place. */
export function readName(b: Uint8Array, off: number): { name: string; end: number } | null {
  const labels: string[] = [];
  let at = off;
  let end = -1;
  let length = 0;
  for (let jumps = 0; jumps <= MAX_JUMPS; ) {
    if (at >= b.length) return null;
    const len = b[at]!;
    if (len === 0) {
      return { name: labels.join("."), end: end === -1 ? at + 1 : end };
    }
    if ((len & 0xc0) === 0xc0) {
      if (at + 1 >= b.length) return null;
      if (end === -1) end = at + 2;
      at = ((len & 0x3f) << 8) | b[at + 1]!;
      jumps++;
      continue;
    }
    if (len & 0xc0) return null; // 0x40 and 0x80 label types are obsolete or unassigned
    if (at + 1 + len > b.length) return null;
    length += len + 1;
    if (length > MAX_NAME) return null;
    labels.push(String.fromCharCode(...b.subarray(at + 1, at + 1 + len)).toLowerCase());
    at += 1 + len;
  }
  return null;
}

const u16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const u32 = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

/** Walks a message with exactly one question. */
export function scanMessage(b: Uint8Array): Scan | null {
  if (b.length < HEADER_LEN) return null;
  const counts: Scan["counts"] = [u16(b, 4), u16(b, 6), u16(b, 8), u16(b, 10)];
  if (counts[0] !== 1) return null;
  const q = readName(b, HEADER_LEN);
  if (!q || q.end + 4 > b.length) return null;
  const scan: Scan = {
    id: u16(b, 0), flags: u16(b, 2), rcode: b[3]! & 0x0f, counts, questionEnd: q.end + 4,
    qname: q.name, qtype: u16(b, q.end), qclass: u16(b, q.end + 2), ttlAt: [], minTtl: null, soaNegativeTtl: null, opt: null,
  };
  let at = scan.questionEnd;
  const records = counts[1] + counts[2] + counts[3];
  for (let i = 0; i < records; i++) {
    const owner = readName(b, at);
    if (!owner || owner.end + 10 > b.length) return null;
    const type = u16(b, owner.end);
    const ttlAt = owner.end + 4;
    const rdAt = owner.end + 10;
    const rdLen = u16(b, owner.end + 8);
    if (rdAt + rdLen > b.length) return null;
    const section = i < counts[1] ? "an" : i < counts[1] + counts[2] ? "ns" : "ar";
    if (type === TYPE_OPT) {
      if (section !== "ar" || scan.opt || owner.name !== "") return null; // RFC 6891 §6.1.1: one, in additional, owned by the root
      scan.opt = { at, udpSize: u16(b, owner.end + 2), version: b[ttlAt + 1]!, dnssecOk: (b[ttlAt + 2]! & 0x80) !== 0 };
    } else {
      scan.ttlAt.push(ttlAt);
      const ttl = u32(b, ttlAt);
      if (section !== "ar") scan.minTtl = scan.minTtl === null ? ttl : Math.min(scan.minTtl, ttl);
      if (section === "ns" && type === TYPE_SOA) {
        const mname = readName(b, rdAt);
        const rname = mname && readName(b, mname.end);
        if (!rname || rname.end + 20 > rdAt + rdLen) return null;
        scan.soaNegativeTtl = Math.min(ttl, u32(b, rname.end + 16));
      }
    }
    at = rdAt + rdLen;
  }
  return scan;
}
