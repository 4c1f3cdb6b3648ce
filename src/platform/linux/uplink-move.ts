/**
 * Moving an uplink's IP configuration between the uplink and its bridge: which addresses and routes
 * belong to it (snapshot), and the idempotent move itself. An enslaved interface no longer receives
 * for the host (the bridge does), so the host's LAN addresses, and the routes that use them, must sit
 * on the bridge while the network exists, and on the uplink again afterwards.
 *
 * Moved: every IPv4 address (host scope aside), IPv6 addresses that are static (IFA_F_PERMANENT,
 * not link-local), and routes on the uplink, in any table but the local one (the kernel drops them
 * all when the uplink loses its last address), that the kernel did not derive itself (protocol
 * kernel: prefix routes, which come back with their addresses) and that no router advertisement
 * made (protocol ra: the bridge learns its own). Multipath routes, policy rules and address
 * lifetimes are not moved (docs/ARCHITECTURE.md, "Bridged networks").
 */
import { AF_INET, AF_INET6 } from "../../../ffi/libc/constants.ts";
import { EADDRNOTAVAIL, EEXIST, ESRCH } from "../../../ffi/errno.ts";
import {
  IFA_F_HOMEADDRESS, IFA_F_MANAGETEMPADDR, IFA_F_MCAUTOJOIN, IFA_F_NODAD, IFA_F_NOPREFIXROUTE, IFA_F_PERMANENT,
  RT_SCOPE_HOST, RTN_UNICAST, RTNH_F_ONLINK, RTPROT_KERNEL, RTPROT_RA,
} from "../../../ffi/netlink/constants.ts";
import { SyscallError } from "../../core/errors.ts";
import type { MovedAddress, MovedRoute, UplinkMoved } from "../types.ts";
import { formatAddress, parseAddress } from "./ip.ts";
import { type Addr, addAddr, delAddr, listAddrs } from "./links.ts";
import type { Netlink } from "./netlink.ts";
import { addRoute, delRoute, type RouteDetail, routesVia } from "./routes.ts";

/** Flags an address can be given (the rest, PERMANENT, TENTATIVE, ..., the kernel sets itself). */
const SETTABLE_FLAGS = IFA_F_NODAD | IFA_F_HOMEADDRESS | IFA_F_MANAGETEMPADDR | IFA_F_NOPREFIXROUTE | IFA_F_MCAUTOJOIN;

const isLinkLocal6 = (b: Uint8Array) => b.length === 16 && b[0] === 0xfe && (b[1]! & 0xc0) === 0x80;

export function movableAddresses(addrs: readonly Addr[]): MovedAddress[] {
  return addrs
    .filter((a) => (a.family === AF_INET ? a.scope !== RT_SCOPE_HOST : a.family === AF_INET6 && (a.flags & IFA_F_PERMANENT) !== 0 && !isLinkLocal6(a.address)))
    .map((a) => ({ address: formatAddress(a.address), prefix: a.prefixlen, flags: a.flags & SETTABLE_FLAGS }));
}

export function movableRoutes(routes: readonly RouteDetail[]): MovedRoute[] {
  return routes
    .filter((r) => r.protocol !== RTPROT_KERNEL && r.protocol !== RTPROT_RA && r.type === RTN_UNICAST)
    .map(({ dst, prefix, gateway, priority, prefsrc, protocol, scope, type, table, flags }) => ({
      dst, prefix, gateway, priority, prefsrc, protocol, scope, type, table, flags: flags & RTNH_F_ONLINK,
    }));
}

const addrKey = (a: Pick<MovedAddress, "address" | "prefix">) => `${a.address}/${a.prefix}`;
const routeKey = (r: Pick<MovedRoute, "dst" | "prefix" | "gateway" | "priority" | "table">) => `${r.dst}/${r.prefix} ${r.gateway ?? "-"} ${r.priority ?? 0} ${r.table}`;

/** What sits on `index` now and would move, as a record for `uplink`. */
export function snapshot(nl: Netlink, index: number, uplink: string): UplinkMoved {
  return { uplink, addresses: movableAddresses(listAddrs(nl, index)), routes: movableRoutes(routesVia(nl, index)) };
}

/** The record plus what the uplink has gained since (e.g. a new DHCP address after a reboot). */
export function merge(before: UplinkMoved | null, now: UplinkMoved): UplinkMoved {
  if (!before) return now;
  const addrs = new Set(before.addresses.map(addrKey));
  const routes = new Set(before.routes.map(routeKey));
  return {
    uplink: before.uplink,
    addresses: [...before.addresses, ...now.addresses.filter((a) => !addrs.has(addrKey(a)))],
    routes: [...before.routes, ...now.routes.filter((r) => !routes.has(routeKey(r)))],
  };
}

export const sameRecord = (a: UplinkMoved | null, b: UplinkMoved | null) => JSON.stringify(a) === JSON.stringify(b);

export interface Side { index: number; name: string }

/** One thing that did not move, for the record that stays in the journal and the error line. */
export interface MoveFailure { what: "address" | "route"; address?: MovedAddress; route?: MovedRoute; message: string }

const ignoring = (errno: number, fn: () => void) => {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof SyscallError && e.errno === errno)) throw e;
  }
};

function toAddr(a: MovedAddress, index: number): Addr {
  const { family, bytes } = parseAddress(a.address);
  return { family, address: bytes, prefixlen: a.prefix, flags: a.flags, scope: 0, index };
}

/**
 * Moves `moved` from `from` (null: already gone) to `to`: the routes leave `from` first (a route whose
 * addresses are gone would be dropped by the kernel anyway), then each address, then the routes come
 * back on `to`, device routes before gateway routes (a gateway must be reachable when its route is
 * added). Idempotent: what is already where it should be is left alone. Failures are collected, not
 * thrown, so one bad route cannot keep the rest from moving.
 */
export function moveConfig(nl: Netlink, moved: UplinkMoved, from: Side | null, to: Side): MoveFailure[] {
  const failures: MoveFailure[] = [];
  const attempt = (f: Omit<MoveFailure, "message">, fn: () => void) => {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      failures.push({ ...f, message: e.message });
    }
  };
  if (from) {
    const there = new Set(movableRoutes(routesVia(nl, from.index)).map(routeKey));
    for (const r of moved.routes) if (there.has(routeKey(r))) attempt({ what: "route", route: r }, () => ignoring(ESRCH, () => delRoute(nl, r, from.index, from.name)));
  }
  const onFrom = new Set(from ? listAddrs(nl, from.index).map((a) => addrKey({ address: formatAddress(a.address), prefix: a.prefixlen })) : []);
  for (const a of moved.addresses) {
    // Deleting a primary IPv4 address can take its secondaries with it: hence the tolerance.
    if (from && onFrom.has(addrKey(a))) attempt({ what: "address", address: a }, () => ignoring(EADDRNOTAVAIL, () => delAddr(nl, toAddr(a, from.index), `${addrKey(a)} on ${from.name}`)));
  }
  const onTo = new Set(listAddrs(nl, to.index).map((a) => addrKey({ address: formatAddress(a.address), prefix: a.prefixlen })));
  for (const a of moved.addresses) {
    if (!onTo.has(addrKey(a))) attempt({ what: "address", address: a }, () => addAddr(nl, toAddr(a, to.index), `${addrKey(a)} on ${to.name}`));
  }
  const present = new Set(movableRoutes(routesVia(nl, to.index)).map(routeKey));
  const ordered = [...moved.routes].sort((x, y) => Number(x.gateway !== null) - Number(y.gateway !== null));
  for (const r of ordered) {
    if (!present.has(routeKey(r))) attempt({ what: "route", route: r }, () => ignoring(EEXIST, () => addRoute(nl, r, to.index, to.name)));
  }
  return failures;
}

/** The part of a record that failed to move, to keep in the journal for the next attempt. */
export function failedPart(moved: UplinkMoved, failures: readonly MoveFailure[]): UplinkMoved {
  const a = new Set(failures.flatMap((f) => (f.address ? [addrKey(f.address)] : [])));
  const r = new Set(failures.flatMap((f) => (f.route ? [routeKey(f.route)] : [])));
  return { uplink: moved.uplink, addresses: moved.addresses.filter((x) => a.has(addrKey(x))), routes: moved.routes.filter((x) => r.has(routeKey(x))) };
}
