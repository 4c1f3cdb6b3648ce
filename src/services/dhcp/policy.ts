/**
 * DHCP policy: which reply a request gets, decided from vmlan's IPAM. The leases ARE the store's
 * attachments: a MAC with an active or released attachment on the network gets that address
 * (sticky); an unknown MAC gets a new attachment with id "mac-<12 hex>". No second lease table.
 */
import { ConflictError } from "../../core/errors.ts";
import type { LeaseService } from "../../core/leases.ts";
import { toAttachment } from "../../core/ipam/allocator.ts";
import { containsV4, intToV4, isV4, parseSubnetV4, v4ToInt } from "../../core/ipam/subnet.ts";
import type { Attachment } from "../../core/resources/attachment.ts";
import { HOSTNAME_RE } from "../../core/resources/names.ts";
import { dnsDomainOf, type Network } from "../../core/resources/network.ts";
import type { Store } from "../../core/store/store.ts";
import {
  type DhcpMessage, type DhcpReply, MessageType, MESSAGE_TYPE_NAMES, Opt, optIp, optString, optU16, optU32, prefixMask, readIp, readString,
} from "./wire.ts";

/** One hour: short enough that a changed network reaches guests soon, long enough to be quiet. */
export const LEASE_SECONDS = 3600;
/** RFC 2131 §4.4.5 defaults: T1 = 0.5 and T2 = 0.875 of the lease time. */
export const T1_SECONDS = LEASE_SECONDS / 2;
export const T2_SECONDS = (LEASE_SECONDS * 7) / 8;
const ZERO = "0.0.0.0";

/** The policy's narrow view of IPAM for one network. */
export interface LeaseBook {
  /** The active lease of a MAC, else its released claim, else null. */
  find(mac: string): Attachment | null;
  /** The MAC's active lease: kept, re-activated (same address) or newly allocated. Throws ConflictError when the pool is full. */
  claim(mac: string, hostnameHint: string | null): Attachment;
  /** Releases the MAC's active lease (the claim stays sticky). */
  release(mac: string): Attachment | null;
}

export type Decision =
  | { reply: DhcpReply; to: "broadcast" | string; log?: string }
  | { reply: null; log?: string };

/** Id of the attachment DHCP creates for a MAC vmlan has never seen on the network. */
export const idForMac = (mac: string): string => `mac-${mac.replaceAll(":", "")}`;

export function storeLeaseBook(store: Store, leases: LeaseService, network: string): LeaseBook {
  const net = () => store.getNetwork(network)!;
  return {
    find(mac) {
      const l = store.leaseWithMac(network, mac);
      return l ? toAttachment(net(), l) : null;
    },
    claim(mac, hint) {
      const l = store.leaseWithMac(network, mac);
      if (l?.state === "active") return toAttachment(net(), l);
      const id = l?.id ?? idForMac(mac);
      let hostname = l?.hostname ?? (hint && HOSTNAME_RE.test(hint) ? hint.toLowerCase() : undefined);
      // A name another interface holds is not worth refusing an address over: fall back to the id's.
      const holder = hostname ? store.activeWithHostname(network, hostname) : null;
      if (holder && holder.id !== id) hostname = undefined;
      return leases.attach({ network, id, mac, ...(hostname ? { hostname } : {}) }).attachment;
    },
    release(mac) {
      const l = store.leaseWithMac(network, mac);
      return l?.state === "active" ? leases.detach(network, l.id) : null;
    },
  };
}

/** Decides the reply to one request on `net`. Pure apart from the LeaseBook calls. */
export function decide(net: Network, m: DhcpMessage, book: LeaseBook): Decision {
  const serverId = readIp(m, Opt.SERVER_ID);
  const who = `${MESSAGE_TYPE_NAMES[m.type]} from ${m.chaddr}`;
  if (serverId !== null && serverId !== net.gateway) return { reply: null }; // the client talks to another server
  const hint = readString(m, Opt.HOSTNAME);
  switch (m.type) {
    case MessageType.DISCOVER: {
      const lease = claimOrNull(book, m.chaddr, hint);
      if (!lease.ok) return { reply: null, log: `${who}: no offer: ${lease.reason}` };
      return { reply: ack(net, m, MessageType.OFFER, lease.a), to: destination(m), log: `${who}: offer ${lease.a.address} (${lease.a.id})` };
    }
    case MessageType.REQUEST: {
      const requested = readIp(m, Opt.REQUESTED_IP) ?? (m.ciaddr !== ZERO ? m.ciaddr : null);
      if (requested === null) return nak(net, m, `${who}: no address requested`);
      if (!inSubnet(net, requested)) return nak(net, m, `${who}: ${requested} is not in ${net.subnet}`);
      const lease = claimOrNull(book, m.chaddr, hint);
      if (!lease.ok) return nak(net, m, `${who}: ${lease.reason}`);
      if (lease.a.address !== requested) return nak(net, m, `${who}: asked for ${requested}, its address is ${lease.a.address}`);
      return { reply: ack(net, m, MessageType.ACK, lease.a), to: destination(m), log: `${who}: ack ${lease.a.address} (${lease.a.id})` };
    }
    case MessageType.RELEASE: {
      const a = book.find(m.chaddr);
      if (!a || a.state !== "active" || a.address !== m.ciaddr) return { reply: null, log: `${who}: nothing to release for ${m.ciaddr}` };
      book.release(m.chaddr);
      return { reply: null, log: `${who}: released ${a.address} (${a.id}; the address stays reserved for it)` };
    }
    case MessageType.DECLINE:
      return { reply: null, log: `${who}: declined ${readIp(m, Opt.REQUESTED_IP) ?? "?"} (another host on the link uses it?)` };
    case MessageType.INFORM: {
      if (m.ciaddr === ZERO) return { reply: null };
      const a = book.find(m.chaddr);
      const r = ack(net, m, MessageType.ACK, a, false);
      return { reply: { ...r, yiaddr: ZERO }, to: m.ciaddr };
    }
    default:
      return { reply: null }; // OFFER/ACK/NAK are server messages
  }
}

function claimOrNull(book: LeaseBook, mac: string, hint: string | null): { ok: true; a: Attachment } | { ok: false; reason: string } {
  try {
    return { ok: true, a: book.claim(mac, hint) };
  } catch (e) {
    if (e instanceof ConflictError) return { ok: false, reason: e.message };
    throw e;
  }
}

function inSubnet(net: Network, ip: string): boolean {
  return isV4(ip) && containsV4(parseSubnetV4(net.subnet), v4ToInt(ip));
}

/** RFC 2131 §4.1: to ciaddr when the client has one, else broadcast (vmlan does not inject ARP entries). */
function destination(m: DhcpMessage): "broadcast" | string {
  return m.ciaddr !== ZERO ? m.ciaddr : "broadcast";
}

function nak(net: Network, m: DhcpMessage, log: string): Decision {
  const reply: DhcpReply = {
    type: MessageType.NAK, xid: m.xid, flags: m.flags, ciaddr: ZERO, yiaddr: ZERO, siaddr: ZERO, giaddr: m.giaddr, chaddr: m.chaddr,
    options: [[Opt.SERVER_ID, optIp(net.gateway)], [Opt.MESSAGE, optString(log.slice(0, 200))]],
  };
  return { reply, to: "broadcast", log: `${log}: nak` };
}

function ack(net: Network, m: DhcpMessage, type: MessageType, a: Attachment | null, withLease = true): DhcpReply {
  const s = parseSubnetV4(net.subnet);
  const options: DhcpReply["options"] = [[Opt.SERVER_ID, optIp(net.gateway)]];
  if (withLease) options.push([Opt.LEASE_TIME, optU32(LEASE_SECONDS)], [Opt.T1, optU32(T1_SECONDS)], [Opt.T2, optU32(T2_SECONDS)]);
  options.push(
    [Opt.SUBNET_MASK, optIp(prefixMask(s.prefix))],
    [Opt.BROADCAST, optIp(intToV4(s.base + s.size - 1))],
    [Opt.ROUTER, optIp(net.gateway)],
    [Opt.DNS_SERVERS, optIp(net.gateway)],
    [Opt.INTERFACE_MTU, optU16(net.mtu)],
    [Opt.DOMAIN_NAME, optString(dnsDomainOf(net))],
  );
  if (a) options.push([Opt.HOSTNAME, optString(a.hostname)]);
  return {
    type, xid: m.xid, flags: m.flags, ciaddr: m.ciaddr, yiaddr: a?.address ?? ZERO, siaddr: ZERO, giaddr: m.giaddr, chaddr: m.chaddr, options,
  };
}
