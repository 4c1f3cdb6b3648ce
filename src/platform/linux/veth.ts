/**
 * veth pairs and static routes over rtnetlink. One RTM_NEWLINK creates both ends: the host end
 * (enslaved to the bridge) here, the peer directly in the container's namespace (VETH_INFO_PEER
 * with IFLA_NET_NS_FD), named and addressed there; nothing is renamed or moved afterwards.
 * Layout of the peer: <linux/veth.h> (an ifinfomsg followed by IFLA_* attributes).
 */
import {
  IFLA_ADDRESS, IFLA_IFNAME, IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_MASTER, IFLA_MTU, IFLA_NET_NS_FD,
  NLM_F_CREATE, NLM_F_ECHO, NLM_F_EXCL, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_TABLE,
  RTM_GETROUTE, RTM_NEWLINK, RTM_NEWROUTE, RTN_UNICAST, RTPROT_BOOT, VETH_INFO_PEER,
} from "../../../ffi/netlink/constants.ts";
import { AF_INET, AF_INET6 } from "../../../ffi/libc/constants.ts";
import { attr, attrNested, attrString, attrU32, attrU32Value, ifinfo, parseRoute, rtm } from "../../../ffi/netlink/encode.ts";
import { formatAddress, parseAddress, parseNetwork } from "./ip.ts";
import { type Link, toLink } from "./links.ts";
import type { Netlink, NlRequest } from "./netlink.ts";

export interface VethSpec {
  hostName: string;
  hostMac: Uint8Array;
  peerName: string;
  peerMac: Uint8Array;
  /** fd of the namespace the peer is created in. */
  peerNetnsFd: number;
  mtu: number;
  /** ifindex of the bridge the host end joins. */
  master: number;
}

/**
 * Creates the pair; EEXIST when either name is taken (the host's here, the peer's in its namespace).
 * Both ends are born down: a peer asked up in this request fails it with ENOTCONN (veth_open runs
 * before the pair is linked). Returns the host end as the kernel's echo of its creation describes it
 * (its index, and its peer's as IFLA_LINK), or null from a kernel that does not echo (before 6.1):
 * one RTM_GETLINK less for the caller. The echo is sent before the bridge takes the port: no master.
 */
export function createVeth(nl: Netlink, s: VethSpec): Link | null {
  const r = vethRequest(s);
  const echo = nl.request(r.type, r.flags, r.parts, r.what, r.subject).find((m) => m.type === RTM_NEWLINK);
  const host = echo ? toLink(echo.payload) : null;
  return host && host.name === s.hostName ? host : null;
}

export function vethRequest(s: VethSpec): NlRequest {
  const peer = [
    ifinfo({}), attrString(IFLA_IFNAME, s.peerName), attr(IFLA_ADDRESS, s.peerMac), attrU32(IFLA_MTU, s.mtu),
    attrU32(IFLA_NET_NS_FD, s.peerNetnsFd),
  ];
  return {
    type: RTM_NEWLINK, flags: NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO, what: "RTM_NEWLINK", subject: `veth ${s.hostName}/${s.peerName}`, parts: [
      ifinfo({}), attrString(IFLA_IFNAME, s.hostName), attr(IFLA_ADDRESS, s.hostMac), attrU32(IFLA_MTU, s.mtu),
      attrU32(IFLA_MASTER, s.master),
      attrNested(IFLA_LINKINFO, [attrString(IFLA_INFO_KIND, "veth"), attrNested(IFLA_INFO_DATA, [attrNested(VETH_INFO_PEER, peer)])]),
    ],
  };
}

export interface StaticRoute { dst: string; gw?: string }

/** Adds a route in the main table via `oif` (on-link when there is no gateway). */
export function addRoute(nl: Netlink, oif: number, r: StaticRoute): void {
  const q = addRouteRequest(oif, r);
  nl.request(q.type, q.flags, q.parts, q.what, q.subject);
}

export function addRouteRequest(oif: number, r: StaticRoute): NlRequest {
  const dst = parseNetwork(r.dst);
  const parts = [rtm({
    family: dst.family, dstLen: dst.prefix, table: RT_TABLE_MAIN, protocol: RTPROT_BOOT,
    scope: r.gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK, type: RTN_UNICAST,
  })];
  if (dst.prefix > 0) parts.push(attr(RTA_DST, dst.bytes));
  if (r.gw) parts.push(attr(RTA_GATEWAY, parseAddress(r.gw).bytes));
  parts.push(attrU32(RTA_OIF, oif));
  return { type: RTM_NEWROUTE, flags: NLM_F_CREATE | NLM_F_EXCL, parts, what: "RTM_NEWROUTE", subject: `${r.dst}${r.gw ? ` via ${r.gw}` : ""}` };
}

/** Routes of the main table through `oif`, as dst CIDR + gateway text. */
export function routesVia(nl: Netlink, oif: number): StaticRoute[] {
  const out: StaticRoute[] = [];
  for (const family of [AF_INET, AF_INET6]) {
    for (const m of nl.dump(RTM_GETROUTE, [rtm({ family })], "RTM_GETROUTE")) {
      const r = parseRoute(m.payload);
      const t = r.attrs.get(RTA_TABLE);
      const o = r.attrs.get(RTA_OIF);
      if ((t ? attrU32Value(t) : r.table) !== RT_TABLE_MAIN || !o || attrU32Value(o) !== oif) continue;
      const d = r.attrs.get(RTA_DST);
      const g = r.attrs.get(RTA_GATEWAY);
      const bytes = d ? d.slice() : new Uint8Array(family === AF_INET ? 4 : 16);
      out.push({ dst: `${formatAddress(bytes)}/${r.dstLen}`, ...(g ? { gw: formatAddress(g) } : {}) });
    }
  }
  return out;
}
