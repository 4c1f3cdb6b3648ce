/**
 * Links and addresses over rtnetlink: the small set of operations bridge.ts, tap.ts and index.ts
 * share. Addresses are byte arrays at this level; ip.ts converts to and from text.
 */
import { AF_UNSPEC } from "../../../ffi/libc/constants.ts";
import { ENODEV } from "../../../ffi/errno.ts";
import { IFF_UP } from "../../../ffi/libc/constants.ts";
import {
  IFA_ADDRESS, IFA_FLAGS, IFA_LOCAL, IFLA_ADDRESS, IFLA_IFALIAS, IFLA_IFNAME, IFLA_INFO_KIND, IFLA_LINK, IFLA_LINKINFO, IFLA_MASTER, IFLA_MTU,
  NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, RT_SCOPE_UNIVERSE, RTM_DELADDR, RTM_DELLINK, RTM_GETADDR, RTM_GETLINK,
  RTM_NEWADDR, RTM_NEWLINK, RTM_SETLINK, AF_BRIDGE, IFLA_PROTINFO, IFLA_BRPORT_ISOLATED, NLA_F_NESTED,
} from "../../../ffi/netlink/constants.ts";
import {
  attr, attrNested, attrString, attrStringValue, attrU32, attrU32Value, attrU8, ifaddr, ifinfo, parseAddr, parseAttrs, parseLink,
} from "../../../ffi/netlink/encode.ts";
import { SyscallError } from "../../core/errors.ts";
import type { Netlink, NlRequest } from "./netlink.ts";

/** `type` is ifi_type (ARPHRD_*); `mac` is IFLA_ADDRESS (6 bytes on Ethernet-like links). */
export interface Link {
  index: number; name: string; flags: number; mtu: number; alias: string | null; kind: string | null; master: number | null;
  type: number; mac: Uint8Array | null;
  /** IFLA_LINK (the kernel's iflink): the link this one sits on; a veth's peer's ifindex, in the peer's namespace. */
  iflink: number | null;
}
export interface Addr { family: number; address: Uint8Array; prefixlen: number; flags: number; scope: number; index: number }

/** A link as an RTM_NEWLINK message (a reply to RTM_GETLINK, or an echo) describes it. */
export function toLink(payload: Uint8Array): Link {
  const l = parseLink(payload);
  const info = l.attrs.get(IFLA_LINKINFO);
  const kind = info ? parseAttrs(info).get(IFLA_INFO_KIND) : undefined;
  const s = (t: number) => { const b = l.attrs.get(t); return b ? attrStringValue(b) : null; };
  const u = (t: number) => { const b = l.attrs.get(t); return b ? attrU32Value(b) : null; };
  return {
    index: l.index, name: s(IFLA_IFNAME) ?? "", flags: l.flags, mtu: u(IFLA_MTU) ?? 0,
    alias: s(IFLA_IFALIAS), kind: kind ? attrStringValue(kind) : null, master: u(IFLA_MASTER) || null,
    type: l.type, mac: l.attrs.get(IFLA_ADDRESS)?.slice() ?? null, iflink: u(IFLA_LINK),
  };
}

/** The link called `name`, or null when there is none. */
export function getLink(nl: Netlink, name: string): Link | null {
  try {
    const [reply] = nl.request(RTM_GETLINK, 0, [ifinfo({}), attrString(IFLA_IFNAME, name)], "RTM_GETLINK", name);
    return reply ? toLink(reply.payload) : null;
  } catch (e) {
    if (e instanceof SyscallError && e.errno === ENODEV) return null;
    throw e;
  }
}

/** The link with `index`, or null when there is none. */
export function getLinkByIndex(nl: Netlink, index: number): Link | null {
  try {
    const [reply] = nl.request(RTM_GETLINK, 0, [ifinfo({ index })], "RTM_GETLINK", `#${index}`);
    return reply ? toLink(reply.payload) : null;
  } catch (e) {
    if (e instanceof SyscallError && e.errno === ENODEV) return null;
    throw e;
  }
}

export function listLinks(nl: Netlink): Link[] {
  return nl.dump(RTM_GETLINK, [ifinfo({})], "RTM_GETLINK").map((m) => toLink(m.payload));
}

/** Creates a link of `kind` (e.g. "bridge") with an optional MAC; fails with EEXIST when the name is taken. */
export function createLink(nl: Netlink, name: string, kind: string, mtu: number, mac?: Uint8Array): void {
  nl.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, [
    ifinfo({}), attrString(IFLA_IFNAME, name), attrU32(IFLA_MTU, mtu), ...(mac ? [attr(IFLA_ADDRESS, mac)] : []),
    attrNested(IFLA_LINKINFO, [attrString(IFLA_INFO_KIND, kind)]),
  ], "RTM_NEWLINK", name);
}

/** master 0 releases the link from its bridge; mac sets the hardware address. */
export interface LinkChange { up?: boolean; mtu?: number; alias?: string; master?: number; mac?: Uint8Array }
/** Changes an existing link by index (RTM_NEWLINK without NLM_F_CREATE is a "set"). */
export function setLink(nl: Netlink, index: number, name: string, c: LinkChange): void {
  const r = setLinkRequest(index, name, c);
  nl.request(r.type, r.flags, r.parts, r.what, r.subject);
}

export function setLinkRequest(index: number, name: string, c: LinkChange): NlRequest {
  const parts = [ifinfo({ index, flags: c.up ? IFF_UP : 0, change: c.up === undefined ? 0 : IFF_UP })];
  if (c.mtu !== undefined) parts.push(attrU32(IFLA_MTU, c.mtu));
  if (c.alias !== undefined) parts.push(attrString(IFLA_IFALIAS, c.alias));
  if (c.master !== undefined) parts.push(attrU32(IFLA_MASTER, c.master));
  if (c.mac !== undefined) parts.push(attr(IFLA_ADDRESS, c.mac));
  return { type: RTM_NEWLINK, flags: 0, parts, what: "RTM_NEWLINK", subject: name };
}

/**
 * Bridge port isolation (`bridge link set dev X isolated on`): an isolated port's frames reach only
 * non-isolated ports and the bridge device itself (the gateway), never another isolated port.
 */
export function setPortIsolated(nl: Netlink, index: number, name: string, isolated: boolean): void {
  nl.request(RTM_SETLINK, 0, [
    ifinfo({ family: AF_BRIDGE, index }),
    attrNested(IFLA_PROTINFO | NLA_F_NESTED, [attrU8(IFLA_BRPORT_ISOLATED, isolated ? 1 : 0)]),
  ], "RTM_SETLINK", `${name} isolated`);
}

/** Deletes a link; a link that is already gone is fine. */
export function deleteLink(nl: Netlink, index: number, name: string): void {
  try {
    nl.request(RTM_DELLINK, 0, [ifinfo({ index })], "RTM_DELLINK", name);
  } catch (e) {
    if (!(e instanceof SyscallError && e.errno === ENODEV)) throw e;
  }
}

/** Addresses of one link (`index`; the kernel filters on strict sockets, netlink.ts) or of all. */
export function listAddrs(nl: Netlink, index?: number): Addr[] {
  const out: Addr[] = [];
  for (const m of nl.dump(RTM_GETADDR, [ifaddr({ family: AF_UNSPEC, index })], "RTM_GETADDR")) {
    const a = parseAddr(m.payload);
    if (index !== undefined && a.index !== index) continue;
    const bytes = a.attrs.get(IFA_LOCAL) ?? a.attrs.get(IFA_ADDRESS);
    if (!bytes) continue;
    const f = a.attrs.get(IFA_FLAGS);
    out.push({ family: a.family, address: bytes.slice(), prefixlen: a.prefixlen, flags: f ? attrU32Value(f) : a.flags, scope: a.scope, index: a.index });
  }
  return out;
}

/** Adds or refreshes (NLM_F_REPLACE) an address; IFA_FLAGS carries flags beyond the 8-bit field. */
export function addAddr(nl: Netlink, a: Omit<Addr, "scope">, subject: string): void {
  const r = addAddrRequest(a, subject);
  nl.request(r.type, r.flags, r.parts, r.what, r.subject);
}

export function addAddrRequest(a: Omit<Addr, "scope">, subject: string): NlRequest {
  return {
    type: RTM_NEWADDR, flags: NLM_F_CREATE | NLM_F_REPLACE, what: "RTM_NEWADDR", subject, parts: [
      ifaddr({ family: a.family, prefixlen: a.prefixlen, flags: a.flags & 0xff, scope: RT_SCOPE_UNIVERSE, index: a.index }),
      attr(IFA_LOCAL, a.address), attr(IFA_ADDRESS, a.address), attrU32(IFA_FLAGS, a.flags),
    ],
  };
}

export function delAddr(nl: Netlink, a: Addr, subject: string): void {
  nl.request(RTM_DELADDR, 0, [
    ifaddr({ family: a.family, prefixlen: a.prefixlen, index: a.index }), attr(IFA_LOCAL, a.address),
  ], "RTM_DELADDR", subject);
}
