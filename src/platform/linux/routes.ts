/** Routes in the main table (RTM_GETROUTE dumps), and the "is this subnet free here?" check. */
import { AF_INET, AF_INET6 } from "../../../ffi/libc/constants.ts";
import {
  NLM_F_CREATE, RT_TABLE_LOCAL, RT_TABLE_MAIN, RT_TABLE_UNSPEC, RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_PREFSRC, RTA_PRIORITY, RTA_TABLE,
  RTM_DELROUTE, RTM_GETROUTE, RTM_NEWROUTE,
} from "../../../ffi/netlink/constants.ts";
import { attr, attrU32, attrU32Value, parseRoute, rtm } from "../../../ffi/netlink/encode.ts";
import { ConflictError } from "../../core/errors.ts";
import { type Cidr, checkIfname, formatAddress, parseAddress, parseNetwork } from "./ip.ts";
import { listLinks } from "./links.ts";
import type { Netlink } from "./netlink.ts";

export interface Route { dst: Cidr; oif: number; device: string | null }

/** All routes of the main table for both families; default routes included. */
export function mainRoutes(nl: Netlink): Route[] {
  const out: Route[] = [];
  for (const family of [AF_INET, AF_INET6]) {
    for (const m of nl.dump(RTM_GETROUTE, [rtm({ family })], "RTM_GETROUTE")) {
      const r = parseRoute(m.payload);
      // rtm_table is 8 bits; RTA_TABLE holds the full id when present (<linux/rtnetlink.h>).
      const tableAttr = r.attrs.get(RTA_TABLE);
      if ((tableAttr ? attrU32Value(tableAttr) : r.table) !== RT_TABLE_MAIN) continue;
      const dstAttr = r.attrs.get(RTA_DST);
      const bytes = dstAttr ? dstAttr.slice() : new Uint8Array(family === AF_INET ? 4 : 16);
      const oifAttr = r.attrs.get(RTA_OIF);
      const oif = oifAttr ? attrU32Value(oifAttr) : 0;
      const text = `${formatAddress(bytes)}/${r.dstLen}`;
      out.push({ dst: { family, bytes, prefix: r.dstLen, text }, oif, device: null });
    }
  }
  // Links after routes: a link made between the two dumps (another vmlan's new bridge) is named,
  // where the other order would report its fresh route as being on "no device".
  const names = new Map(listLinks(nl).map((l) => [l.index, l.name]));
  for (const r of out) r.device = names.get(r.oif) ?? null;
  return out;
}

/** The first non-default route that overlaps `cidr` and is not on `bridge`, or null. */
export function findConflict(routes: readonly Route[], cidr: Cidr, bridge: string): Route | null {
  for (const r of routes) {
    if (r.dst.prefix === 0 || r.device === bridge) continue;
    if (overlapsCidr(r.dst, cidr)) return r;
  }
  return null;
}

function overlapsCidr(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const p = Math.min(a.prefix, b.prefix);
  for (let bit = 0; bit < p; bit++) {
    const mask = 0x80 >> (bit & 7);
    if ((a.bytes[bit >> 3]! & mask) !== (b.bytes[bit >> 3]! & mask)) return false;
  }
  return true;
}

/** Throws ConflictError naming the route and its device when `cidr` is already routed elsewhere. */
export function checkSubnetFree(nl: Netlink, cidr: string, bridge: string): void {
  checkIfname(bridge);
  const net = parseNetwork(cidr);
  const hit = findConflict(mainRoutes(nl), net, bridge);
  if (hit) {
    const dev = hit.device ?? "no device";
    throw new ConflictError(`subnet ${net.text} overlaps route ${hit.dst.text} on ${dev}; choose another subnet`, {
      details: { subnet: net.text, route: hit.dst.text, device: hit.device },
    });
  }
}

/** A route with what it takes to put it back as it was (rtnetlink's own fields and attributes). */
export interface RouteDetail {
  family: number;
  dst: string;
  prefix: number;
  gateway: string | null;
  priority: number | null;
  prefsrc: string | null;
  protocol: number;
  scope: number;
  type: number;
  table: number;
  flags: number;
  /** 0 for multipath routes (RTA_MULTIPATH), which have no single device. */
  oif: number;
}

/**
 * Every route whose device is `oif`, both families, in the kernel's order: the main table and any
 * other (policy routing), not the local table (the kernel's own local and broadcast routes).
 */
export function routesVia(nl: Netlink, oif: number): RouteDetail[] {
  const out: RouteDetail[] = [];
  for (const family of [AF_INET, AF_INET6]) {
    for (const m of nl.dump(RTM_GETROUTE, [rtm({ family })], "RTM_GETROUTE")) {
      const r = parseRoute(m.payload);
      const u = (t: number) => { const b = r.attrs.get(t); return b ? attrU32Value(b) : null; };
      const ip = (t: number) => { const b = r.attrs.get(t); return b ? formatAddress(b.slice()) : null; };
      const table = u(RTA_TABLE) ?? r.table;
      if (table === RT_TABLE_LOCAL || u(RTA_OIF) !== oif) continue;
      const dst = ip(RTA_DST) ?? (family === AF_INET ? "0.0.0.0" : "::");
      out.push({
        family, dst, prefix: r.dstLen, gateway: ip(RTA_GATEWAY), priority: u(RTA_PRIORITY), prefsrc: ip(RTA_PREFSRC),
        protocol: r.protocol, scope: r.scope, type: r.type, table, flags: r.flags, oif,
      });
    }
  }
  return out;
}

const routeText = (r: Omit<RouteDetail, "oif" | "family">, dev: string) =>
  `${r.prefix === 0 ? "default" : `${r.dst}/${r.prefix}`}${r.gateway ? ` via ${r.gateway}` : ""} dev ${dev}${r.priority !== null ? ` metric ${r.priority}` : ""}`;

function routeParts(r: Omit<RouteDetail, "oif" | "family">, oif: number): Uint8Array[] {
  const family = parseAddress(r.dst).family;
  // rtm_table is 8 bits; RTA_TABLE below carries the full id.
  const parts = [rtm({ family, dstLen: r.prefix, table: r.table < 256 ? r.table : RT_TABLE_UNSPEC, protocol: r.protocol, scope: r.scope, type: r.type, flags: r.flags })];
  if (r.prefix > 0) parts.push(attr(RTA_DST, parseAddress(r.dst).bytes));
  if (r.gateway) parts.push(attr(RTA_GATEWAY, parseAddress(r.gateway).bytes));
  if (r.prefsrc) parts.push(attr(RTA_PREFSRC, parseAddress(r.prefsrc).bytes));
  if (r.priority !== null) parts.push(attrU32(RTA_PRIORITY, r.priority));
  parts.push(attrU32(RTA_OIF, oif), attrU32(RTA_TABLE, r.table));
  return parts;
}

/**
 * Adds the route on `oif`. Without NLM_F_EXCL, as `ip route append` does: a route with the same key
 * on another device stays (IPv4 keeps both, IPv6 makes them siblings); only an identical one is EEXIST.
 */
export function addRoute(nl: Netlink, r: Omit<RouteDetail, "oif" | "family">, oif: number, dev: string): void {
  nl.request(RTM_NEWROUTE, NLM_F_CREATE, routeParts(r, oif), "RTM_NEWROUTE", routeText(r, dev));
}

export function delRoute(nl: Netlink, r: Omit<RouteDetail, "oif" | "family">, oif: number, dev: string): void {
  nl.request(RTM_DELROUTE, 0, routeParts(r, oif), "RTM_DELROUTE", routeText(r, dev));
}
