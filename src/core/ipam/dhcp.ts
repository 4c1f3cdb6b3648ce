/**
 * IPAM for the DHCP server, pure over LeaseTx. DHCP leases are the store's attachments; what a
 * DHCP client holds differs from `vmlan attach` in time only:
 *
 * - DISCOVER: a MAC with a lease or a released claim is offered that address and nothing changes; a
 *   MAC vmlan does not know gets an address *hold* for OFFER_HOLD_SECONDS (Kea's offer-lifetime,
 *   whose documentation suggests 60-120 s), not an attachment.
 * - REQUEST: the hold (or the released claim) becomes an active lease that ends LEASE_SECONDS later
 *   unless renewed; a renewal extends it. An attachment made by `vmlan attach` never expires.
 * - Expired leases become released claims (the id keeps its address while the pool can spare it,
 *   as after a RELEASE); expired holds vanish. Allocation itself ends what is due, so none of this
 *   needs the daemon.
 * - DECLINE (RFC 2131 §4.3.3, the client found the address in use): the address is held for
 *   DECLINE_PROBATION_SECONDS and the client's claim moves elsewhere, so its next DISCOVER gets
 *   another address. An address `vmlan attach` gave out stays its attachment's (IPAM's truth):
 *   the caller stops offering to that client for the probation, as dnsmasq does for static ones.
 */
import { ConflictError } from "../errors.ts";
import type { Network } from "../resources/network.ts";
import type { Hold, LeaseRow, LeaseTx } from "./lease-tx.ts";
import { dhcpHostname } from "./hostnames.ts";
import { addressV6For } from "./ipv6.ts";
import { nextFree } from "./pool.ts";
import { parseSubnetV6 } from "./subnet.ts";

/** One hour (dnsmasq's default too): short enough that a changed network reaches guests soon, long enough to be quiet. */
export const LEASE_SECONDS = 3600;
/** How long an offer holds its address without a REQUEST: Kea's suggested minimum; a client REQUESTs within seconds. */
export const OFFER_HOLD_SECONDS = 60;
/**
 * How long a declined address is not offered: dnsmasq's DECLINE_BACKOFF (10 min). Kea's default
 * probation is a day, which on a /24 lab network loses addresses to one misconfigured host for long.
 */
export const DECLINE_PROBATION_SECONDS = 600;

/** Id of the attachment DHCP creates for a MAC vmlan has never seen on the network. */
export const idForMac = (mac: string): string => `mac-${mac.replaceAll(":", "")}`;

/** What a DHCP client may be offered, or why not. */
export type Offered = { ok: true; addr: number; lease: LeaseRow | null } | { ok: false; reason: string };
export type Bound = { ok: true; lease: LeaseRow } | { ok: false; reason: string };
export type Declined = { kind: "held"; until: number } | { kind: "static"; lease: LeaseRow; until: number } | { kind: "ignored"; reason: string };

function refusal(e: unknown): { ok: false; reason: string } {
  if (e instanceof ConflictError) return { ok: false, reason: e.message };
  throw e;
}

/** DISCOVER from `mac`: the address to offer. */
export function offer(tx: LeaseTx, net: Network, mac: string, nowMs: number): Offered {
  tx.expire(net.name, nowMs);
  const known = tx.leaseWithMac(net.name, mac);
  if (known) return { ok: true, addr: known.addr, lease: known };
  const held = tx.offerFor(net.name, mac);
  try {
    const addr = held?.addr ?? nextFree(tx, net, "stranger");
    const hold: Hold = { network: net.name, addr, mac, reason: "offer", until: nowMs + OFFER_HOLD_SECONDS * 1000, createdAt: held?.createdAt ?? nowMs };
    tx.putHold(hold);
    if (!held) tx.advanceCursor(net.name, addr);
    return { ok: true, addr, lease: null };
  } catch (e) {
    return refusal(e);
  }
}

/**
 * REQUEST from `mac` for `requested`: binds (or renews) its lease when that is the address vmlan
 * has for it; otherwise changes nothing and says why (the client gets a NAK and starts over).
 */
export function bind(tx: LeaseTx, net: Network, mac: string, requested: number, hint: string | null, now: string): Bound {
  const nowMs = Date.parse(now);
  tx.expire(net.name, nowMs);
  const until = nowMs + LEASE_SECONDS * 1000;
  const known = tx.leaseWithMac(net.name, mac);
  if (known) {
    if (known.addr !== requested) return { ok: false, reason: "its address is another one" };
    if (known.state === "active" && known.expiresAt === null) return { ok: true, lease: known }; // `vmlan attach`'s: no end
    const candidates = known.origin === "dhcp" ? [hint, known.hostname] : [known.hostname];
    const lease: LeaseRow = {
      ...known, state: "active", expiresAt: until, updatedAt: now,
      hostname: known.state === "active" ? known.hostname : dhcpHostname(tx, net, known.id, candidates),
    };
    tx.putLease(lease);
    return { ok: true, lease };
  }
  const held = tx.offerFor(net.name, mac);
  if (!held) return { ok: false, reason: "no offer was made to it (or the offer ran out)" };
  if (held.addr !== requested) return { ok: false, reason: "it was offered another address" };
  const id = idForMac(mac);
  const other = tx.getLease(net.name, id);
  if (other) return { ok: false, reason: `id "${id}" is used by MAC ${other.mac}` };
  tx.deleteHold(net.name, held.addr);
  const lease: LeaseRow = {
    network: net.name, id, mac, addr: held.addr, addressV6: net.subnetV6 ? addressV6For(parseSubnetV6(net.subnetV6), mac) : null,
    hostname: dhcpHostname(tx, net, id, [hint]), state: "active", createdAt: now, updatedAt: now, expiresAt: until, origin: "dhcp",
  };
  tx.insertLease(lease);
  return { ok: true, lease };
}

/** RELEASE from `mac` of `addr`: its active lease becomes a released claim. Null when it holds nothing there. */
export function releaseByMac(tx: LeaseTx, net: Network, mac: string, addr: number, now: string): LeaseRow | null {
  tx.expire(net.name, Date.parse(now));
  const l = tx.activeWithMac(net.name, mac);
  if (!l || l.addr !== addr) return null;
  const out: LeaseRow = { ...l, state: "released", updatedAt: now, expiresAt: null };
  tx.putLease(out);
  return out;
}

/** DECLINE from `mac` of `addr`. Only the client's own offer or lease can be declined. */
export function decline(tx: LeaseTx, net: Network, mac: string, addr: number, now: string): Declined {
  const nowMs = Date.parse(now);
  tx.expire(net.name, nowMs);
  const until = nowMs + DECLINE_PROBATION_SECONDS * 1000;
  const lease = tx.leaseWithMac(net.name, mac);
  const held = tx.offerFor(net.name, mac);
  if (lease?.addr === addr) {
    if (lease.state === "active" && lease.expiresAt === null) return { kind: "static", lease, until };
  } else if (held?.addr !== addr) return { kind: "ignored", reason: "not its address" };
  tx.putHold({ network: net.name, addr, mac, reason: "declined", until, createdAt: nowMs });
  if (lease?.addr === addr) {
    // The claim moves, so the client's next DISCOVER is offered another address; a full pool ends it.
    try {
      const next = nextFree(tx, net, lease.origin === "dhcp" ? "stranger" : "attach");
      tx.putLease({ ...lease, addr: next, state: "released", expiresAt: null, updatedAt: now });
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
      tx.deleteLease(net.name, lease.id);
    }
  }
  return { kind: "held", until };
}
