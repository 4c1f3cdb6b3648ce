import { ConflictError, NotFoundError, UsageError } from "../errors.ts";
import type { Network } from "../resources/network.ts";
import type { Attachment } from "../resources/attachment.ts";
import { parseSubnetV4, parseSubnetV6, v4ToInt, intToV4, isV4, containsV4, type SubnetV4 } from "./subnet.ts";
import { macFor, macTaken, parseMac } from "./mac.ts";
import { addressV6For } from "./ipv6.ts";
import type { LeaseRow, LeaseTx } from "./lease-tx.ts";
import { nextFree } from "./pool.ts";
import { attachHostname } from "./hostnames.ts";

export type { LeaseRow, LeaseTx, Hold } from "./lease-tx.ts";

export interface LeaseRequest {
  id: string;
  hostname?: string;
  ip?: string;
  mac?: string;
}

/** Whether vmlan hands out addresses on `net` (not on bridged networks: the LAN's DHCP server does). */
export const assignsAddresses = (net: Pick<Network, "mode">): boolean => net.mode !== "bridged";

/**
 * On a network whose addresses vmlan does not assign (bridged), a lease holds a negative slot
 * instead of an address: unique per network like one, so the schema needs no nullable column.
 */
export const hasAddress = (l: Pick<LeaseRow, "addr">): boolean => l.addr >= 0;

/** Turns a stored lease into what users see (address, prefix, gateway, MTU...); null address on bridged networks. */
export function toAttachment(net: Network, l: LeaseRow): Attachment {
  const s = parseSubnetV4(net.subnet);
  const addressed = hasAddress(l);
  return {
    network: l.network, id: l.id, mac: l.mac, address: addressed ? intToV4(l.addr) : null, prefixLength: addressed ? s.prefix : null,
    gateway: addressed ? net.gateway : null,
    addressV6: l.addressV6, prefixLengthV6: net.subnetV6 ? parseSubnetV6(net.subnetV6).prefix : null,
    hostname: l.hostname, mtu: net.mtu, state: l.state, createdAt: l.createdAt, updatedAt: l.updatedAt,
    expiresAt: l.expiresAt === null ? null : new Date(l.expiresAt).toISOString(),
  };
}

/**
 * Allocates (or returns) the lease of `req.id` on `net`. Sticky: an id keeps its address and MAC
 * across detach/attach and restarts; a released address goes to someone else only when the
 * pool has no never-used address left (oldest release first). `known` spares a second read when
 * the caller already read the id's lease in this transaction, after `tx.expire` (LeaseService).
 */
export function allocate(tx: LeaseTx, net: Network, req: LeaseRequest, now: string, known?: { existing: LeaseRow | null }): { lease: LeaseRow; created: boolean } {
  const subnet = parseSubnetV4(net.subnet);
  const wantMac = req.mac === undefined ? undefined : parseMac(req.mac);
  if (req.ip !== undefined && !assignsAddresses(net)) {
    throw new UsageError(`IP address "${req.ip}" cannot be reserved on "${net.name}": it is bridged, and the LAN's DHCP server assigns the addresses there`);
  }
  const wantAddr = req.ip === undefined ? undefined : checkRequestedIp(subnet, net, req.ip);
  if (!known) tx.expire(net.name, Date.parse(now));
  const existing = known ? known.existing : tx.getLease(net.name, req.id);

  if (existing?.state === "active") {
    if (wantAddr !== undefined && wantAddr !== existing.addr) {
      throw new ConflictError(`id "${req.id}" already holds ${hasAddress(existing) ? intToV4(existing.addr) : "no address"} on "${net.name}", not ${req.ip}; detach it first`);
    }
    if (wantMac !== undefined && wantMac !== existing.mac) {
      throw new ConflictError(`id "${req.id}" already uses MAC ${existing.mac} on "${net.name}", not ${wantMac}; detach it first`);
    }
    if (req.hostname !== undefined && req.hostname.toLowerCase() !== existing.hostname.toLowerCase()) {
      throw new ConflictError(`id "${req.id}" already has hostname "${existing.hostname}" on "${net.name}", not "${req.hostname}"; detach it first`);
    }
    if (existing.expiresAt === null) return { lease: existing, created: false };
    // Made active by its guest's DHCP client: an explicit attach holds it until detach from now on.
    const kept: LeaseRow = { ...existing, expiresAt: null, updatedAt: now };
    tx.putLease(kept);
    return { lease: kept, created: false };
  }

  const mac = wantMac ?? existing?.mac ?? macFor(net.name, req.id);
  // A new row's MAC is checked by the store as it is inserted (its unique index; insertLease), after
  // the name and the address: a refusal undoes the transaction either way, and most attaches are
  // spared a lookup. A claim taken back is updated in place, so its MAC is checked here.
  if (existing) {
    const macHolder = tx.activeWithMac(net.name, mac);
    if (macHolder && macHolder.id !== req.id) throw macTaken(mac, macHolder);
  }

  // The name first: a reserved or taken one fails before any address changes hands.
  const hostname = attachHostname(tx, net, req.id, req.hostname);
  let addr: number;
  if (wantAddr !== undefined) {
    addr = wantAddr;
    const holder = tx.leaseAt(net.name, addr);
    if (holder && holder.id !== req.id) {
      if (holder.state === "active") throw new ConflictError(`address ${req.ip} on "${net.name}" is taken by id "${holder.id}"`);
      tx.deleteLease(net.name, holder.id); // a released claim yields to an explicit request
    }
    if (tx.holdAt(net.name, addr)) tx.deleteHold(net.name, addr); // so does an offer or a declined address
  } else if (existing) {
    addr = existing.addr; // sticky: the released row still owns its address
  } else if (!assignsAddresses(net)) {
    addr = Math.min(tx.lowestSlot(net.name) ?? 0, 0) - 1;
  } else {
    addr = nextFree(tx, net, "attach");
  }

  const lease: LeaseRow = {
    network: net.name, id: req.id, mac, addr,
    addressV6: net.subnetV6 ? addressV6For(parseSubnetV6(net.subnetV6), mac) : null,
    hostname, state: "active", createdAt: existing?.createdAt ?? now, updatedAt: now,
    expiresAt: null, origin: "attach", // attached explicitly: known from now on, whoever made the row
  };
  if (existing) tx.putLease(lease);
  else tx.insertLease(lease);
  tx.deleteOffersTo(net.name, mac);
  if (wantAddr === undefined && !existing && hasAddress(lease)) tx.advanceCursor(net.name, addr);
  return { lease, created: true };
}

/** Marks the lease released; the id keeps its claim on the address until the pool needs it. */
export function release(tx: LeaseTx, net: Network, id: string, now: string): LeaseRow {
  tx.expire(net.name, Date.parse(now));
  const l = tx.getLease(net.name, id);
  if (!l || l.state !== "active") throw new NotFoundError(`no attachment "${id}" on network "${net.name}"`);
  const out: LeaseRow = { ...l, state: "released", updatedAt: now, expiresAt: null };
  tx.putLease(out);
  return out;
}

function checkRequestedIp(s: SubnetV4, net: Network, ip: string): number {
  if (!isV4(ip)) throw new UsageError(`invalid IP address "${ip}": expected IPv4 like 192.168.64.10`);
  const n = v4ToInt(ip);
  if (!containsV4(s, n)) throw new UsageError(`IP address ${ip} is outside the subnet ${net.subnet} of "${net.name}"`);
  if (n === s.base) throw new UsageError(`IP address ${ip} is the network address of ${net.subnet}`);
  if (n === s.base + s.size - 1) throw new UsageError(`IP address ${ip} is the broadcast address of ${net.subnet}`);
  if (n === v4ToInt(net.gateway)) throw new UsageError(`IP address ${ip} is the gateway of "${net.name}"`);
  return n;
}
