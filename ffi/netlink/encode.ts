/**
 * Pure byte builders and parsers for rtnetlink (no I/O). Host byte order throughout, as netlink is.
 * Alignment: NLMSG_ALIGN and RTA_ALIGN are both 4 (<linux/netlink.h>, <linux/rtnetlink.h>).
 */
import { type Layout, offsetOf, read, write } from "../layout.ts";
import { NLA_TYPE_MASK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSGERR_ATTR_MSG } from "./constants.ts";
import { ifaddrmsg, ifinfomsg, nlmsgerr, nlmsghdr, rtattr, rtmsg } from "./structs.ts";

export const align4 = (n: number) => (n + 3) & ~3;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Parts laid end to end, each padded to 4 bytes (netlink's alignment, for attributes and for messages in one datagram). */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + align4(p.length), 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += align4(p.length);
  }
  return out;
}

function fixed(layout: Layout, values: Record<string, number | undefined>): Uint8Array {
  const ab = new ArrayBuffer(layout.size);
  const view = new DataView(ab);
  for (const [k, v] of Object.entries(values)) if (v !== undefined) write(layout, view, k, v);
  return new Uint8Array(ab);
}

const viewOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

// The headers every message and attribute has, read and written at offsets taken from their layouts
// once: read()/write() look a field up by name on each call, and a link's reply has ~60 attributes
// (a services daemon's ADD parses several, mostly in cold code).
const RTA_LEN = offsetOf(rtattr, "rta_len"), RTA_TYPE = offsetOf(rtattr, "rta_type");
const NLMSG_LEN = offsetOf(nlmsghdr, "nlmsg_len"), NLMSG_TYPE = offsetOf(nlmsghdr, "nlmsg_type"), NLMSG_FLAGS = offsetOf(nlmsghdr, "nlmsg_flags");
const NLMSG_SEQ = offsetOf(nlmsghdr, "nlmsg_seq"), NLMSG_PID = offsetOf(nlmsghdr, "nlmsg_pid");

// ---- attributes -------------------------------------------------------------------------------

/** One rtattr: length (header + payload, unpadded), type, payload, padding to 4. */
export function attr(type: number, payload: Uint8Array): Uint8Array {
  const len = rtattr.size + payload.length;
  const out = new Uint8Array(align4(len));
  const view = viewOf(out);
  view.setUint16(RTA_LEN, len, true);
  view.setUint16(RTA_TYPE, type, true);
  out.set(payload, rtattr.size);
  return out;
}
/** NUL-terminated string attribute (IFLA_IFNAME, IFLA_INFO_KIND, IFLA_IFALIAS accept it). */
export const attrString = (type: number, s: string) => attr(type, enc.encode(`${s}\0`));
export function attrU32(type: number, n: number): Uint8Array {
  const b = new Uint8Array(4);
  viewOf(b).setUint32(0, n >>> 0, true);
  return attr(type, b);
}
export const attrU8 = (type: number, n: number) => attr(type, Uint8Array.of(n & 0xff));
/** A nested attribute: its payload is a list of attributes. */
export const attrNested = (type: number, children: readonly Uint8Array[]) => attr(type, concat(children));

export function parseAttrs(buf: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  const view = viewOf(buf);
  let o = 0;
  while (o + rtattr.size <= buf.length) {
    const len = view.getUint16(o + RTA_LEN, true);
    if (len < rtattr.size || o + len > buf.length) break; // truncated: stop rather than read garbage
    out.set(view.getUint16(o + RTA_TYPE, true) & NLA_TYPE_MASK, buf.subarray(o + rtattr.size, o + len));
    o += align4(len);
  }
  return out;
}
export const attrStringValue = (b: Uint8Array) => dec.decode(b[b.length - 1] === 0 ? b.subarray(0, -1) : b);
export const attrU32Value = (b: Uint8Array) => viewOf(b).getUint32(0, true);

// ---- fixed headers ----------------------------------------------------------------------------

export interface IfInfo { family?: number; type?: number; index?: number; flags?: number; change?: number }
export const ifinfo = (f: IfInfo) =>
  fixed(ifinfomsg, { ifi_family: f.family, ifi_type: f.type, ifi_index: f.index, ifi_flags: f.flags, ifi_change: f.change });

export interface IfAddr { family: number; prefixlen?: number; flags?: number; scope?: number; index?: number }
export const ifaddr = (f: IfAddr) =>
  fixed(ifaddrmsg, { ifa_family: f.family, ifa_prefixlen: f.prefixlen, ifa_flags: f.flags, ifa_scope: f.scope, ifa_index: f.index });

export interface Rt { family: number; dstLen?: number; table?: number; protocol?: number; scope?: number; type?: number; flags?: number }
export const rtm = (f: Rt) =>
  fixed(rtmsg, { rtm_family: f.family, rtm_dst_len: f.dstLen, rtm_table: f.table, rtm_protocol: f.protocol, rtm_scope: f.scope, rtm_type: f.type, rtm_flags: f.flags });

// ---- messages ---------------------------------------------------------------------------------

/** A whole netlink message: nlmsghdr + fixed header + attributes. */
export function message(type: number, flags: number, seq: number, parts: readonly Uint8Array[], pid = 0): Uint8Array {
  const body = concat(parts);
  const out = new Uint8Array(nlmsghdr.size + body.length);
  const view = viewOf(out);
  view.setUint32(NLMSG_LEN, out.length, true);
  view.setUint16(NLMSG_TYPE, type, true);
  view.setUint16(NLMSG_FLAGS, flags, true);
  view.setUint32(NLMSG_SEQ, seq >>> 0, true);
  view.setUint32(NLMSG_PID, pid >>> 0, true);
  out.set(body, nlmsghdr.size);
  return out;
}

export interface NlMessage { type: number; flags: number; seq: number; pid: number; payload: Uint8Array }

/** Splits a datagram into messages; stops at a malformed length. */
export function parseMessages(buf: Uint8Array): NlMessage[] {
  const out: NlMessage[] = [];
  const view = viewOf(buf);
  let o = 0;
  while (o + nlmsghdr.size <= buf.length) {
    const len = view.getUint32(o + NLMSG_LEN, true);
    if (len < nlmsghdr.size || o + len > buf.length) break;
    out.push({
      type: view.getUint16(o + NLMSG_TYPE, true),
      flags: view.getUint16(o + NLMSG_FLAGS, true),
      seq: view.getUint32(o + NLMSG_SEQ, true),
      pid: view.getUint32(o + NLMSG_PID, true),
      payload: buf.subarray(o + nlmsghdr.size, o + len),
    });
    o += align4(len);
  }
  return out;
}

/** NLMSG_ERROR payload: errno (negative, 0 = ack) and the kernel's extended-ack text if any. */
export function parseError(msg: NlMessage): { errno: number; text?: string } {
  const view = viewOf(msg.payload);
  const errno = 0 - read(nlmsgerr, view, "error") || 0; // "|| 0" turns -0 into 0
  if (!(msg.flags & NLM_F_ACK_TLVS)) return { errno };
  // Capped acks carry only the request header; otherwise the whole request follows it.
  const reqLen = msg.flags & NLM_F_CAPPED ? nlmsghdr.size : read(nlmsgerr, view, "msg.nlmsg_len");
  const tlvs = parseAttrs(msg.payload.subarray(4 + align4(reqLen)));
  const m = tlvs.get(NLMSGERR_ATTR_MSG);
  return { errno, text: m ? attrStringValue(m) : undefined };
}

export interface ParsedLink { index: number; type: number; flags: number; attrs: Map<number, Uint8Array> }
export function parseLink(payload: Uint8Array): ParsedLink {
  const view = viewOf(payload);
  return {
    index: read(ifinfomsg, view, "ifi_index"),
    type: read(ifinfomsg, view, "ifi_type"),
    flags: read(ifinfomsg, view, "ifi_flags"),
    attrs: parseAttrs(payload.subarray(ifinfomsg.size)),
  };
}

export interface ParsedAddr { family: number; prefixlen: number; flags: number; scope: number; index: number; attrs: Map<number, Uint8Array> }
export function parseAddr(payload: Uint8Array): ParsedAddr {
  const view = viewOf(payload);
  return {
    family: read(ifaddrmsg, view, "ifa_family"),
    prefixlen: read(ifaddrmsg, view, "ifa_prefixlen"),
    flags: read(ifaddrmsg, view, "ifa_flags"),
    scope: read(ifaddrmsg, view, "ifa_scope"),
    index: read(ifaddrmsg, view, "ifa_index"),
    attrs: parseAttrs(payload.subarray(ifaddrmsg.size)),
  };
}

export interface ParsedRoute { family: number; dstLen: number; table: number; protocol: number; scope: number; type: number; flags: number; attrs: Map<number, Uint8Array> }
export function parseRoute(payload: Uint8Array): ParsedRoute {
  const view = viewOf(payload);
  return {
    family: read(rtmsg, view, "rtm_family"),
    dstLen: read(rtmsg, view, "rtm_dst_len"),
    table: read(rtmsg, view, "rtm_table"),
    protocol: read(rtmsg, view, "rtm_protocol"),
    scope: read(rtmsg, view, "rtm_scope"),
    type: read(rtmsg, view, "rtm_type"),
    flags: read(rtmsg, view, "rtm_flags"),
    attrs: parseAttrs(payload.subarray(rtmsg.size)),
  };
}
