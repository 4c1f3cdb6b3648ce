/**
 * The DHCPv4 wire format (RFC 2131 message, RFC 2132 options), pure: bytes in, a message out, and
 * back. No I/O. Parsing is strict about what the server relies on and throws DhcpParseError for
 * anything else, so the transport can count and drop bad packets without ever crashing.
 *
 *   op htype hlen hops | xid | secs flags | ciaddr | yiaddr | siaddr | giaddr | chaddr[16]
 *   sname[64] | file[128] | magic cookie 99.130.83.99 | options (code, len, value)... 255
 */

/** RFC 2131 §3: the fixed header is 236 bytes, then the 4-byte magic cookie. */
export const HEADER_LEN = 236;
export const MAGIC_COOKIE = 0x63825363;
const OPTIONS_AT = HEADER_LEN + 4;
/** RFC 1542 §3.2.1: some BOOTP-era clients drop replies shorter than 300 bytes; pad up to it. */
export const MIN_REPLY_LEN = 300;
export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
/** RFC 2131 §2: the BROADCAST bit of the flags field. */
export const FLAG_BROADCAST = 0x8000;

export const MessageType = { DISCOVER: 1, OFFER: 2, REQUEST: 3, DECLINE: 4, ACK: 5, NAK: 6, RELEASE: 7, INFORM: 8 } as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];
export const MESSAGE_TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(MessageType).map(([k, n]) => [n, k]));

/** RFC 2132 option codes vmlan reads or writes. */
export const Opt = {
  PAD: 0, SUBNET_MASK: 1, ROUTER: 3, DNS_SERVERS: 6, HOSTNAME: 12, DOMAIN_NAME: 15, INTERFACE_MTU: 26, BROADCAST: 28,
  REQUESTED_IP: 50, LEASE_TIME: 51, OVERLOAD: 52, MESSAGE_TYPE: 53, SERVER_ID: 54, PARAM_LIST: 55, MESSAGE: 56,
  MAX_MESSAGE_SIZE: 57, T1: 58, T2: 59, CLIENT_ID: 61, END: 255,
} as const;

export class DhcpParseError extends Error {
  override name = "DhcpParseError";
}

export interface DhcpMessage {
  op: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** Client hardware address, lowercase "aa:bb:cc:dd:ee:ff" (Ethernet only). */
  chaddr: string;
  /** Option 53 (present in every DHCP message; BOOTP without it is rejected). */
  type: MessageType;
  /** Every option by code, value bytes only (repeated codes concatenated, RFC 3396). */
  options: Map<number, Uint8Array>;
}

const ipAt = (b: Uint8Array, o: number) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;

export function ipBytes(ip: string): Uint8Array {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new RangeError(`not an IPv4 address: ${ip}`);
  return Uint8Array.from(parts);
}

/** Parses a request from a client (op BOOTREQUEST, Ethernet). Throws DhcpParseError naming the problem. */
export function parseDhcp(buf: Uint8Array): DhcpMessage {
  if (buf.length < OPTIONS_AT) throw new DhcpParseError(`short packet: ${buf.length} bytes, need at least ${OPTIONS_AT}`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const op = buf[0]!;
  if (op !== BOOTREQUEST) throw new DhcpParseError(`op ${op} is not BOOTREQUEST`);
  if (buf[1] !== 1 || buf[2] !== 6) throw new DhcpParseError(`hardware type ${buf[1]}/length ${buf[2]} is not Ethernet`);
  if (dv.getUint32(HEADER_LEN) !== MAGIC_COOKIE) throw new DhcpParseError("no DHCP magic cookie");
  const options = parseOptions(buf.subarray(OPTIONS_AT));
  const t = options.get(Opt.MESSAGE_TYPE);
  if (!t || t.length !== 1 || t[0]! < 1 || t[0]! > 8) throw new DhcpParseError("missing or invalid message type (option 53)");
  const chaddr = Array.from(buf.subarray(28, 34), (x) => x.toString(16).padStart(2, "0")).join(":");
  // No client has a group (multicast, broadcast) or all-zero address: such a chaddr is a forgery or a bug.
  if (buf[28]! & 1 || buf.subarray(28, 34).every((x) => x === 0)) throw new DhcpParseError(`chaddr ${chaddr} is not a unicast Ethernet address`);
  return {
    op, xid: dv.getUint32(4), secs: dv.getUint16(8), flags: dv.getUint16(10),
    ciaddr: ipAt(buf, 12), yiaddr: ipAt(buf, 16), siaddr: ipAt(buf, 20), giaddr: ipAt(buf, 24),
    chaddr, type: t[0] as MessageType, options,
  };
}

/** Options area: (code, len, value) triples until END; PAD skipped; bounds checked on every step. */
export function parseOptions(area: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  let i = 0;
  while (i < area.length) {
    const code = area[i]!;
    if (code === Opt.END) return out;
    if (code === Opt.PAD) {
      i++;
      continue;
    }
    if (i + 1 >= area.length) throw new DhcpParseError(`option ${code} has no length byte`);
    const len = area[i + 1]!;
    if (i + 2 + len > area.length) throw new DhcpParseError(`option ${code} (${len} bytes) runs past the end of the packet`);
    const value = area.subarray(i + 2, i + 2 + len);
    const prev = out.get(code);
    out.set(code, prev ? concat(prev, value) : value);
    i += 2 + len;
  }
  // RFC 2131 says END terminates the list; clients that fill the buffer exactly are tolerated.
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

// ---- option values ----

export const optIp = (ip: string): Uint8Array => ipBytes(ip);
export const optIps = (ips: string[]): Uint8Array => Uint8Array.from(ips.flatMap((ip) => [...ipBytes(ip)]));
export const optU8 = (n: number): Uint8Array => Uint8Array.of(n);
export function optU16(n: number): Uint8Array {
  return Uint8Array.of((n >>> 8) & 0xff, n & 0xff);
}
export function optU32(n: number): Uint8Array {
  return Uint8Array.of((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}
export const optString = (s: string): Uint8Array => new TextEncoder().encode(s);

/** An option's value as an IPv4 address, or null when absent or not 4 bytes. */
export function readIp(m: DhcpMessage, code: number): string | null {
  const v = m.options.get(code);
  return v && v.length === 4 ? ipAt(v, 0) : null;
}

/** An option's value as text (NULs stripped: some clients terminate strings), or null. */
export function readString(m: DhcpMessage, code: number): string | null {
  const v = m.options.get(code);
  if (!v || v.length === 0) return null;
  return new TextDecoder("utf-8", { fatal: false }).decode(v).replace(/\0+$/, "");
}

// ---- replies ----

export interface DhcpReply {
  type: MessageType;
  xid: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  chaddr: string;
  /** Options after 53 (message type, always written first), in order. */
  options: Array<[code: number, value: Uint8Array]>;
}

/** Builds a BOOTREPLY: header, cookie, option 53, the given options, END, padding to 300 bytes. */
export function encodeDhcp(r: DhcpReply): Uint8Array {
  let optLen = 3 + 1;
  for (const [code, value] of r.options) {
    if (value.length > 255) throw new RangeError(`option ${code} value is ${value.length} bytes; the limit is 255`);
    optLen += 2 + value.length;
  }
  const buf = new Uint8Array(Math.max(MIN_REPLY_LEN, OPTIONS_AT + optLen));
  const dv = new DataView(buf.buffer);
  buf[0] = BOOTREPLY;
  buf[1] = 1; // htype Ethernet
  buf[2] = 6; // hlen
  dv.setUint32(4, r.xid);
  dv.setUint16(10, r.flags);
  buf.set(ipBytes(r.ciaddr), 12);
  buf.set(ipBytes(r.yiaddr), 16);
  buf.set(ipBytes(r.siaddr), 20);
  buf.set(ipBytes(r.giaddr), 24);
  buf.set(r.chaddr.split(":").map((h) => parseInt(h, 16)), 28);
  dv.setUint32(HEADER_LEN, MAGIC_COOKIE);
  let i = OPTIONS_AT;
  buf.set([Opt.MESSAGE_TYPE, 1, r.type], i);
  i += 3;
  for (const [code, value] of r.options) {
    buf[i] = code;
    buf[i + 1] = value.length;
    buf.set(value, i + 2);
    i += 2 + value.length;
  }
  buf[i] = Opt.END;
  return buf;
}

/** The dotted mask of a prefix length (24 → 255.255.255.0). */
export function prefixMask(prefix: number): string {
  const m = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (m >>> s) & 0xff).join(".");
}
