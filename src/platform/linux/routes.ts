/** Routes in the main table (RTM_GETROUTE dumps), and the "is this subnet free here?" check. */
import { AF_INET, AF_INET6 } from "../../../ffi/libc/constants.ts";
import { RT_TABLE_MAIN, RTA_DST, RTA_OIF, RTA_TABLE, RTM_GETROUTE } from "../../../ffi/netlink/constants.ts";
import { attrU32Value, parseRoute, rtm } from "../../../ffi/netlink/encode.ts";
import { ConflictError } from "../../core/errors.ts";
import { type Cidr, checkIfname, formatAddress, parseNetwork } from "./ip.ts";
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
