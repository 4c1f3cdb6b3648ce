/**
 * DNS answers for one network, pure: a query's bytes and the network's names in, a response's
 * bytes (or "forward", or nothing) out. vmlan is authoritative for the network's domain
 * ("<network>.vmlan" or the configured one), for bare single-label names, for everything under
 * "vmlan." and for the reverse names of its own subnets; anything else is forwarded upstream.
 */
import dnsPacket from "dns-packet";
import { containsV4, isV4, parseSubnetV4, v4ToInt, parseSubnetV6, v6ToBig } from "../../core/ipam/subnet.ts";
import { VMLAN_DNS_SUFFIX } from "../../core/resources/network.ts";
import { reservedHostnames } from "../../core/resources/reserved-names.ts";
import { apexOf, BADVERS, errorReply, optAnswer, soaRecord } from "./replies.ts";

/** Short: names follow `vmlan attach`/`detach`, so resolvers should not keep them long. */
export const TTL_SECONDS = 10;
const FLAG_AA = 0x0400;
const FLAG_RD = 0x0100;
const FLAG_RA = 0x0080;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
/** The fixed DNS header (RFC 1035 §4.1.1); anything shorter is dropped without a reply. */
export const DNS_HEADER_LEN = 12;

export interface ZoneRecord { hostname: string; v4: string; v6: string | null }

/**
 * A zone's guests, looked up one name or address at a time: the DNS server answers these from the
 * store's indexes, so a query costs the same with 10 guests or 10,000 (a list scanned per query
 * does not).
 */
export interface ZoneNames {
  /** The guest with this host label (lowercase), or null. */
  byName(hostname: string): ZoneRecord | null;
  byV4(address: string): ZoneRecord | null;
  byV6(address: bigint): ZoneRecord | null;
}

/** ZoneNames over a list of records (small zones, tests): the first match wins. */
export function namesOf(records: ZoneRecord[]): ZoneNames {
  return {
    byName: (h) => records.find((r) => r.hostname.toLowerCase() === h) ?? null,
    byV4: (a) => records.find((r) => r.v4 === a) ?? null,
    byV6: (a) => records.find((r) => r.v6 !== null && v6ToBig(r.v6) === a) ?? null,
  };
}

export interface Zone {
  /** Lowercase, no trailing dot, e.g. "lab.vmlan". */
  domain: string;
  /** The network's name (its reserved names include it). */
  network: string;
  gateway: string;
  gatewayV6: string | null;
  subnet: string;
  subnetV6: string | null;
  names: ZoneNames;
}

export type Outcome = { kind: "reply"; bytes: Uint8Array; note?: string } | { kind: "forward"; name: string } | { kind: "drop"; note: string };

export { errorReply };

/** Answers one query against the zone that `zone()` returns (called only for names that are ours). */
export function answer(query: Uint8Array, zone: () => Zone): Outcome {
  if (query.length < DNS_HEADER_LEN) return { kind: "drop", note: `${query.length}-byte packet is shorter than a DNS header` };
  if (query[2]! & 0x80) return { kind: "drop", note: "a response, not a query" };
  let packet: dnsPacket.Packet;
  try {
    packet = dnsPacket.decode(Buffer.from(query.buffer, query.byteOffset, query.byteLength));
  } catch (e) {
    return { kind: "reply", bytes: errorReply(query, RCODE.FORMERR), note: `malformed query: ${(e as Error).message}` };
  }
  if ((query[2]! >> 3) & 0x0f) return { kind: "reply", bytes: errorReply(query, RCODE.NOTIMP) };
  const questions = packet.questions ?? [];
  if (questions.length !== 1) return { kind: "reply", bytes: errorReply(query, RCODE.FORMERR), note: `${questions.length} questions` };
  const q = questions[0]!;
  const z = zone();
  if (!isOurs(q.name, z)) return { kind: "forward", name: q.name };
  const opt = (packet.additionals ?? []).find((a) => a.type === "OPT") as { ednsVersion?: number; flag_do?: boolean } | undefined;
  const header = { type: "response" as const, id: packet.id ?? 0, questions: [q] };
  const flags = ((packet.flags ?? 0) & FLAG_RD) | FLAG_AA | FLAG_RA;
  if (opt && (opt.ednsVersion ?? 0) > 0) {
    // RFC 6891 §6.1.3: a version we do not implement gets BADVERS and our own version, 0.
    return { kind: "reply", bytes: new Uint8Array(dnsPacket.encode({ ...header, flags, additionals: [optAnswer(opt.flag_do === true, BADVERS) as unknown as dnsPacket.Answer] })) };
  }
  const name = q.name.toLowerCase().replace(/\.$/, "");
  const found = resolve(name, q.type, z);
  // RFC 2308 §3: NXDOMAIN and NODATA carry the zone's SOA, whose MINIMUM tells resolvers how long to remember the absence.
  const negative = found.rcode === RCODE.NXDOMAIN || found.answers.length === 0;
  const bytes = dnsPacket.encode({
    ...header, flags: flags | found.rcode,
    answers: found.answers.map((a) => ({ ...a, name: q.name, ttl: TTL_SECONDS, class: "IN" }) as dnsPacket.Answer),
    authorities: negative ? [soaRecord(apexOf(name, z, VMLAN_DNS_SUFFIX), z.domain, TTL_SECONDS) as dnsPacket.Answer] : [],
    additionals: opt ? [optAnswer(opt.flag_do === true) as unknown as dnsPacket.Answer] : [],
  });
  return { kind: "reply", bytes: new Uint8Array(bytes) };
}

/** RFC 6761 §6.3: localhost names are loopback, answered here and never looked up elsewhere. */
const LOOPBACK: Record<string, { v4: string | null; v6: string }> = {
  localhost: { v4: "127.0.0.1", v6: "::1" }, "ip6-localhost": { v4: null, v6: "::1" }, "ip6-loopback": { v4: null, v6: "::1" },
};

function resolve(name: string, type: string, z: Zone): { rcode: number; answers: Array<{ type: string; data: unknown }> } {
  const host = hostLabel(name, z.domain);
  if (host === undefined) return { rcode: RCODE.NXDOMAIN, answers: [] };
  if (host === null) {
    // The domain apex exists: its SOA when asked for, no address.
    const soa = soaRecord(z.domain, z.domain, TTL_SECONDS);
    return { rcode: RCODE.NOERROR, answers: type === "SOA" || type === "ANY" ? [{ type: "SOA", data: soa.data }] : [] };
  }
  if (host.startsWith("ptr:")) return reverse(host.slice(4), z);
  // Reserved names are vmlan's: never a record's, whatever the store holds (rows from before they were reserved).
  const rec = host === "gateway" ? { v4: z.gateway, v6: z.gatewayV6 } : LOOPBACK[host] ?? guest(z, isReserved(z, host) ? null : z.names.byName(host));
  if (!rec) return { rcode: RCODE.NXDOMAIN, answers: [] };
  const answers: Array<{ type: string; data: string }> = [];
  if ((type === "A" || type === "ANY") && rec.v4) answers.push({ type: "A", data: rec.v4 });
  if ((type === "AAAA" || type === "ANY") && rec.v6) answers.push({ type: "AAAA", data: rec.v6 });
  return { rcode: RCODE.NOERROR, answers };
}

const isReserved = (z: Zone, host: string) => reservedHostnames({ name: z.network, dnsDomain: z.domain }).has(host.toLowerCase());

/** A guest's record, unless it carries a reserved name (a row from before the name was reserved). */
const guest = (z: Zone, r: ZoneRecord | null) => (r && !isReserved(z, r.hostname) ? r : null);

/**
 * The host label a name asks for: "web" for "web" and "web.<domain>"; null for the domain itself;
 * "ptr:<name>" for reverse names; undefined when the name cannot exist here.
 */
function hostLabel(name: string, domain: string): string | null | undefined {
  if (name === domain) return null;
  if (name.endsWith(".in-addr.arpa") || name.endsWith(".ip6.arpa")) return `ptr:${name}`;
  const rest = name.endsWith(`.${domain}`) ? name.slice(0, -(domain.length + 1)) : name.includes(".") ? undefined : name;
  return rest && !rest.includes(".") ? rest : undefined;
}

function reverse(name: string, z: Zone): { rcode: number; answers: Array<{ type: string; data: string }> } {
  const ptr = (h: string) => ({ rcode: RCODE.NOERROR, answers: [{ type: "PTR", data: `${h}.${z.domain}` }] });
  const v4 = reverseV4(name);
  if (v4 !== null) {
    if (v4 === z.gateway) return ptr("gateway");
    const r = guest(z, z.names.byV4(v4));
    return r ? ptr(r.hostname) : { rcode: RCODE.NXDOMAIN, answers: [] };
  }
  const v6 = reverseV6(name);
  if (v6 !== null) {
    if (z.gatewayV6 && v6ToBig(z.gatewayV6) === v6) return ptr("gateway");
    const r = guest(z, z.names.byV6(v6));
    return r ? ptr(r.hostname) : { rcode: RCODE.NXDOMAIN, answers: [] };
  }
  return { rcode: RCODE.NXDOMAIN, answers: [] };
}

/** "4.3.2.1.in-addr.arpa" → "1.2.3.4" when it is a full address; else null. */
export function reverseV4(name: string): string | null {
  const labels = name.replace(/\.in-addr\.arpa$/, "").split(".");
  if (labels.length !== 4 || !name.endsWith(".in-addr.arpa")) return null;
  const ip = labels.reverse().join(".");
  return isV4(ip) ? ip : null;
}

/** 32 nibble labels of ip6.arpa → the address as a bigint; else null. */
export function reverseV6(name: string): bigint | null {
  if (!name.endsWith(".ip6.arpa")) return null;
  const nibbles = name.slice(0, -".ip6.arpa".length).split(".");
  if (nibbles.length !== 32 || nibbles.some((n) => !/^[0-9a-f]$/.test(n))) return null;
  return BigInt(`0x${nibbles.reverse().join("")}`);
}

/**
 * Whether vmlan answers `name` itself on this zone (else it is forwarded): single labels, the
 * zone's domain and below, everything under "vmlan.", full reverse names inside its subnets.
 */
export function isOurs(name: string, z: Pick<Zone, "domain" | "subnet" | "subnetV6">): boolean {
  const n = name.toLowerCase().replace(/\.$/, "");
  if (n.length === 0) return false;
  if (!n.includes(".")) return true;
  if (n === z.domain || n.endsWith(`.${z.domain}`)) return true;
  if (n === VMLAN_DNS_SUFFIX || n.endsWith(`.${VMLAN_DNS_SUFFIX}`)) return true;
  const v4 = reverseV4(n);
  if (v4 !== null) return containsV4(parseSubnetV4(z.subnet), v4ToInt(v4));
  const v6 = reverseV6(n);
  if (v6 !== null && z.subnetV6) {
    const s = parseSubnetV6(z.subnetV6);
    return v6 >> BigInt(128 - s.prefix) === s.base >> BigInt(128 - s.prefix);
  }
  return false;
}
