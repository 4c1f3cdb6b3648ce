/**
 * Published-port specs as docker and apple/container write them:
 * `[HOST_IP:]HOST_PORT[-END]:GUEST_PORT[-END][/tcp|/udp]`, IPv6 host addresses in brackets.
 * The host address defaults to 127.0.0.1 (publishing beyond the host is an explicit `0.0.0.0:`,
 * `[::]:` or an address of the host), the protocol to tcp. Parsing is strict: one bad character
 * is a UsageError naming the flag and the whole value, before anything is stored or allocated.
 */
import ipaddr from "ipaddr.js";
import { UsageError } from "../errors.ts";

export type PortProto = "tcp" | "udp";
export type Family = 4 | 6;

export interface PortSpec {
  /** Canonical text: 127.0.0.1, 0.0.0.0, ::, ::1, 192.168.1.20, fd00::5 */
  hostIp: string;
  hostPort: number;
  /** Last host port of the range (hostPort for one port). */
  hostEnd: number;
  /** First guest port; the range has as many ports as the host's, in the same order. */
  guestPort: number;
  proto: PortProto;
}

export const DEFAULT_HOST_IP = "127.0.0.1";
/**
 * The most ports one spec may publish. Each published port may hold a socket in the services
 * daemon (the reservation against other programs), so a range is bounded well below the usual
 * 1024-fd soft limit's worth of ports per spec; larger ranges are several specs.
 */
export const MAX_RANGE = 1024;
export const SPEC_FORMAT = "[HOST_IP:]HOST_PORT[-END]:GUEST_PORT[-END][/tcp|/udp]";

const PORT_RE = /^[0-9]{1,5}$/;

export const familyOf = (ip: string): Family => (ip.includes(":") ? 6 : 4);
export const guestEnd = (s: PortSpec): number => s.guestPort + (s.hostEnd - s.hostPort);
export const isUnspecified = (ip: string): boolean => ip === "0.0.0.0" || ip === "::";
export const isLoopback = (ip: string): boolean => ip === "::1" || (familyOf(ip) === 4 && ip.startsWith("127."));

/** `why` names what is wrong; the format is added to the line when it helps (a malformed spec). */
function fail(what: string, value: string, why: string, format = false): never {
  // Quoted as is: the runner escapes control characters in every error line (core/text.ts).
  throw new UsageError(`invalid ${what} "${value}": ${why}${format ? `; expected ${SPEC_FORMAT}` : ""}`, { details: { value, why } });
}

/**
 * What is wrong with a spec, or null: a flag's value check, which cli/flags.ts prints as
 * `invalid --publish "X": expected ...` (every value check says what it expected).
 */
export function specProblem(value: string): string | null {
  try {
    parsePortSpec(value);
    return null;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    return `expected ${SPEC_FORMAT} (${String(e.details?.why ?? e.message)})`;
  }
}

function port(what: string, value: string, text: string, side: string): number {
  if (!PORT_RE.test(text)) fail(what, value, `${side} port "${text}" is not a number`, true);
  const n = Number(text);
  if (n < 1 || n > 65535) fail(what, value, `${side} port ${n} is out of range (1-65535)`);
  return n;
}

function range(what: string, value: string, text: string, side: string): [number, number] {
  const parts = text.split("-");
  if (parts.length > 2) fail(what, value, `${side} range "${text}" has more than one "-"`);
  const start = port(what, value, parts[0]!, side);
  const end = parts.length === 2 ? port(what, value, parts[1]!, side) : start;
  if (end < start) fail(what, value, `${side} range ${start}-${end} ends before it starts`);
  return [start, end];
}

/** A host address: IPv4 dotted quad or IPv6 (already without brackets), canonical, usable for a listener. */
function hostAddress(what: string, value: string, text: string): string {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    const a = ipaddr.IPv4.parse(text);
    const r = a.range();
    if (r === "multicast" || r === "broadcast") fail(what, value, `host address ${text} is ${r}; use 127.0.0.1, 0.0.0.0 or an address of this host`);
    return a.toString();
  }
  if (text.includes("%")) fail(what, value, `host address ${text} has a zone; link-local addresses cannot be published`);
  if (!ipaddr.IPv6.isValid(text)) fail(what, value, `host address "${text}" is not an IPv4 or IPv6 address`);
  const a = ipaddr.IPv6.parse(text);
  const r = a.range();
  if (r === "ipv4Mapped") fail(what, value, `host address ${text} is IPv4-mapped; write ${a.toIPv4Address().toString()}`);
  if (r === "multicast" || r === "linkLocal") fail(what, value, `host address ${text} is ${r === "linkLocal" ? "link-local" : r}; use [::1], [::] or an address of this host`);
  return a.toString();
}

/** Splits `[v6]:rest`, `v4:host:guest` or `host:guest` into the host address text (or null) and the two ranges. */
function split(what: string, value: string, body: string): { ip: string | null; host: string; guest: string } {
  if (body.startsWith("[")) {
    const close = body.indexOf("]");
    if (close < 0) fail(what, value, "missing \"]\" after the IPv6 host address");
    const rest = body.slice(close + 1);
    if (!rest.startsWith(":")) fail(what, value, `no ":" after "]"`, true);
    const parts = rest.slice(1).split(":");
    if (parts.length !== 2) fail(what, value, "not HOST_PORT:GUEST_PORT after the address", true);
    return { ip: body.slice(1, close), host: parts[0]!, guest: parts[1]! };
  }
  const parts = body.split(":");
  if (parts.length === 2) return { ip: null, host: parts[0]!, guest: parts[1]! };
  if (parts.length === 3) return { ip: parts[0]!, host: parts[1]!, guest: parts[2]! };
  if (parts.length > 3) fail(what, value, "IPv6 host addresses go in brackets, e.g. [::1]:8080:80");
  fail(what, value, "the host port is required, as in HOST_PORT:GUEST_PORT", true);
}

/** Parses one spec; `what` names where it came from ("--publish", "SPEC", "ports[0]") in the error. */
export function parsePortSpec(value: string, what = "port spec"): PortSpec {
  if (value.length === 0) fail(what, value, "empty", true);
  if (value.length > 128 || /\s/.test(value)) fail(what, value, "too long or with spaces", true);
  const slash = value.lastIndexOf("/");
  const body = slash < 0 ? value : value.slice(0, slash);
  const protoText = slash < 0 ? "tcp" : value.slice(slash + 1).toLowerCase();
  if (protoText !== "tcp" && protoText !== "udp") fail(what, value, `protocol "${value.slice(slash + 1)}" is not tcp or udp`);
  const parts = split(what, value, body);
  if (parts.ip === "") fail(what, value, "empty host address before the host port");
  const hostIp = parts.ip === null ? DEFAULT_HOST_IP : hostAddress(what, value, parts.ip);
  const [hostPort, hostEnd] = range(what, value, parts.host, "host");
  const [guestPort, guestLast] = range(what, value, parts.guest, "guest");
  const hostCount = hostEnd - hostPort + 1;
  const guestCount = guestLast - guestPort + 1;
  if (hostCount !== guestCount) {
    fail(what, value, `the host range has ${hostCount} port(s) and the guest range ${guestCount}; they must have as many`);
  }
  if (hostCount > MAX_RANGE) fail(what, value, `${hostCount} ports in one spec; at most ${MAX_RANGE}`);
  return { hostIp, hostPort, hostEnd, guestPort, proto: protoText };
}

const portsText = (start: number, end: number): string => (start === end ? String(start) : `${start}-${end}`);
export const hostAddressText = (ip: string): string => (familyOf(ip) === 6 ? `[${ip}]` : ip);

/** The host side as people read it: `127.0.0.1:8080`, `[::]:8080-8090`. */
export function hostText(s: Pick<PortSpec, "hostIp" | "hostPort" | "hostEnd">): string {
  return `${hostAddressText(s.hostIp)}:${portsText(s.hostPort, s.hostEnd)}`;
}

/** The canonical spec: every part written out, so parsePortSpec(formatPortSpec(s)) is s. */
export function formatPortSpec(s: PortSpec): string {
  return `${hostText(s)}:${portsText(s.guestPort, guestEnd(s))}/${s.proto}`;
}

/** The spec as a person would write it in a file: the default address and protocol left out. */
export function shortPortSpec(s: PortSpec): string {
  const host = s.hostIp === DEFAULT_HOST_IP ? portsText(s.hostPort, s.hostEnd) : hostText(s);
  return `${host}:${portsText(s.guestPort, guestEnd(s))}${s.proto === "tcp" ? "" : "/udp"}`;
}

/** Two specs claim the same host port: same protocol, overlapping ports, and the same address or a wildcard of its family. */
export function overlaps(a: PortSpec, b: PortSpec): boolean {
  if (a.proto !== b.proto || a.hostPort > b.hostEnd || b.hostPort > a.hostEnd) return false;
  if (familyOf(a.hostIp) !== familyOf(b.hostIp)) return false;
  return a.hostIp === b.hostIp || isUnspecified(a.hostIp) || isUnspecified(b.hostIp);
}

/** The same host binding (what `port rm` matches on): address, protocol and host ports. */
export const sameBinding = (a: PortSpec, b: PortSpec): boolean =>
  a.proto === b.proto && a.hostIp === b.hostIp && a.hostPort === b.hostPort && a.hostEnd === b.hostEnd;

export const sameSpec = (a: PortSpec, b: PortSpec): boolean => sameBinding(a, b) && a.guestPort === b.guestPort;

/** Several specs at once (one command's): each parsed, and none overlapping another. */
export function parsePortSpecs(values: string[], what = "port spec"): PortSpec[] {
  const out: PortSpec[] = [];
  for (const value of values) {
    const s = parsePortSpec(value, what);
    const twin = out.find((o) => overlaps(o, s));
    if (twin && sameSpec(twin, s)) continue; // the same spec twice: once is enough
    if (twin) throw new UsageError(`${what} ${JSON.stringify(value)} overlaps ${JSON.stringify(formatPortSpec(twin))} given before it`);
    out.push(s);
  }
  return out;
}
