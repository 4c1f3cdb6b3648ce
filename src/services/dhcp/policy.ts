/**
 * DHCP policy: which reply a request gets, decided from vmlan's IPAM. The leases ARE the store's
 * attachments (core/ipam/dhcp.ts says how offers, lease times and claims work); this file only
 * maps messages to those calls and their results to replies. No second lease table.
 */
import { DhcpLeases, type BindResult, type DeclineResult, type OfferResult } from "../../core/dhcp-leases.ts";
import type { LeaseService } from "../../core/leases.ts";
import { LEASE_SECONDS } from "../../core/ipam/dhcp.ts";
import { containsV4, intToV4, isV4, parseSubnetV4, v4ToInt } from "../../core/ipam/subnet.ts";
import type { Attachment } from "../../core/resources/attachment.ts";
import { dnsDomainOf, type Network } from "../../core/resources/network.ts";
import type { Store } from "../../core/store/store.ts";
import {
  type DhcpMessage, type DhcpReply, FLAG_BROADCAST, MessageType, MESSAGE_TYPE_NAMES, Opt, optIp, optString, optU16, optU32, prefixMask, readIp, readString,
} from "./wire.ts";

export { DECLINE_PROBATION_SECONDS, LEASE_SECONDS, OFFER_HOLD_SECONDS, idForMac } from "../../core/ipam/dhcp.ts";
/** RFC 2131 §4.4.5 defaults: T1 = 0.5 and T2 = 0.875 of the lease time. */
export const T1_SECONDS = LEASE_SECONDS / 2;
export const T2_SECONDS = (LEASE_SECONDS * 7) / 8;
const ZERO = "0.0.0.0";

/** The policy's narrow view of IPAM for one network (core/dhcp-leases.ts). */
export interface LeaseBook {
  /** The active lease of a MAC, else its released claim, else null. */
  find(mac: string): Attachment | null;
  /** DISCOVER: the address to offer (held briefly for a MAC vmlan does not know), or why none. */
  offer(mac: string): OfferResult;
  /** REQUEST: binds or renews the MAC's lease when `requested` is its address, else says why not. */
  bind(mac: string, requested: string, hostnameHint: string | null): BindResult;
  /** RELEASE: the MAC's active lease at `address` becomes a released claim; null when it holds none there. */
  release(mac: string, address: string): Attachment | null;
  /** DECLINE: `address` (the MAC's own) is in use by another host. */
  decline(mac: string, address: string): DeclineResult;
}

/** A reply goes to `to` (an address or the broadcast address) on `port`: the client's (68), or a relay's server port (67). */
export type Decision =
  | { reply: DhcpReply; to: "broadcast" | string; port: number; log?: string }
  | { reply: null; log?: string };

const CLIENT_PORT = 68;
const SERVER_PORT = 67;
/** RFC 3046: relay agent information, echoed in every reply to a relayed request. */
const RELAY_AGENT_INFO = 82;

export function storeLeaseBook(store: Store, leases: LeaseService, network: string): LeaseBook {
  const d = new DhcpLeases(store, network, leases.now);
  return {
    find: (mac) => d.find(mac), offer: (mac) => d.offer(mac), bind: (mac, ip, hint) => d.bind(mac, ip, hint),
    release: (mac, ip) => d.release(mac, ip), decline: (mac, ip) => d.decline(mac, ip),
  };
}

/** Decides the reply to one request on `net`. Pure apart from the LeaseBook calls. */
export function decide(net: Network, m: DhcpMessage, book: LeaseBook): Decision {
  const serverId = readIp(m, Opt.SERVER_ID);
  const who = `${MESSAGE_TYPE_NAMES[m.type]} from ${m.chaddr}`;
  if (serverId !== null && serverId !== net.gateway) return { reply: null }; // the client talks to another server
  if (m.giaddr !== ZERO && !relayInSubnet(net, m.giaddr)) {
    return { reply: null, log: `${who} via relay ${m.giaddr}: refused: a relay must have an address of ${net.subnet} (vmlan serves no other subnet)` };
  }
  const hint = readString(m, Opt.HOSTNAME);
  switch (m.type) {
    case MessageType.DISCOVER: {
      const o = book.offer(m.chaddr);
      if (!o.ok) return { reply: null, log: `${who}: no offer: ${o.reason}` };
      const reply = ack(net, m, MessageType.OFFER, o.attachment, o.address);
      return { reply, ...destination(m), log: `${who}: offer ${o.address} (${o.attachment?.id ?? "held for its REQUEST"})` };
    }
    case MessageType.REQUEST: {
      const requested = readIp(m, Opt.REQUESTED_IP) ?? (m.ciaddr !== ZERO ? m.ciaddr : null);
      if (requested === null) return nak(net, m, `${who}: no address requested`);
      if (!inSubnet(net, requested)) return nak(net, m, `${who}: ${requested} is not in ${net.subnet}`);
      const b = book.bind(m.chaddr, requested, hint);
      if (!b.ok) return nak(net, m, `${who}: asked for ${requested}: ${b.reason}`);
      // DHCP serves only networks whose addresses vmlan assigns, so a bound attachment has one.
      return { reply: ack(net, m, MessageType.ACK, b.attachment, b.attachment.address ?? requested), ...destination(m), log: `${who}: ack ${b.attachment.address} (${b.attachment.id})` };
    }
    case MessageType.RELEASE: {
      const a = book.release(m.chaddr, m.ciaddr);
      if (!a) return { reply: null, log: `${who}: nothing to release for ${m.ciaddr}` };
      return { reply: null, log: `${who}: released ${a.address} (${a.id}; the address stays reserved for it)` };
    }
    case MessageType.DECLINE: {
      // RFC 2131 §4.3.3: the client found its address in use. Table 5: DECLINE carries both options.
      const ip = readIp(m, Opt.REQUESTED_IP);
      if (serverId !== net.gateway || ip === null || !inSubnet(net, ip)) return { reply: null, log: `${who}: ignored (no server identifier or no address of ${net.subnet})` };
      const d = book.decline(m.chaddr, ip);
      if (d.kind === "ignored") return { reply: null, log: `${who}: ${ip} is ${d.reason}; ignored` };
      if (d.kind === "static") return { reply: null, log: `${who}: address conflict: ${ip} of "${d.attachment.id}" is in use by another host; no offer to this client until ${d.until}` };
      return { reply: null, log: `${who}: ${ip} is in use by another host; not offered until ${d.until}` };
    }
    case MessageType.INFORM: {
      if (m.ciaddr === ZERO) return { reply: null };
      const a = book.find(m.chaddr);
      return { reply: ack(net, m, MessageType.ACK, a, ZERO, false), ...(m.giaddr !== ZERO ? destination(m) : { to: m.ciaddr, port: CLIENT_PORT }) };
    }
    default:
      return { reply: null }; // OFFER/ACK/NAK are server messages
  }
}

function inSubnet(net: Network, ip: string): boolean {
  return isV4(ip) && containsV4(parseSubnetV4(net.subnet), v4ToInt(ip));
}

/**
 * RFC 2131 §4.1: through the relay when there is one (giaddr, the server port); else to ciaddr
 * when the client has one, else broadcast (vmlan does not inject ARP entries).
 */
function destination(m: DhcpMessage): { to: "broadcast" | string; port: number } {
  if (m.giaddr !== ZERO) return { to: m.giaddr, port: SERVER_PORT };
  return { to: m.ciaddr !== ZERO ? m.ciaddr : "broadcast", port: CLIENT_PORT };
}

/**
 * ISC dhcpd's rule: a relayed request is answered when giaddr names a subnet the server serves,
 * here the network's own (a relay on the network relaying for guests behind it); any other subnet
 * is an "unknown network segment". Never the network, broadcast or gateway address.
 */
function relayInSubnet(net: Network, giaddr: string): boolean {
  const s = parseSubnetV4(net.subnet);
  const g = isV4(giaddr) ? v4ToInt(giaddr) : -1;
  return containsV4(s, g) && g !== s.base && g !== s.base + s.size - 1 && giaddr !== net.gateway;
}

/** Option 82 from a relay, to echo (RFC 3046 §2.2), when it fits one option. */
function relayEcho(m: DhcpMessage): Array<[number, Uint8Array]> {
  const info = m.giaddr !== ZERO ? m.options.get(RELAY_AGENT_INFO) : undefined;
  return info && info.length <= 255 ? [[RELAY_AGENT_INFO, info]] : [];
}

function nak(net: Network, m: DhcpMessage, log: string): Decision {
  const reply: DhcpReply = {
    // RFC 2131 §4.3.2: a NAK through a relay carries the broadcast bit (the client has no address to unicast to).
    type: MessageType.NAK, xid: m.xid, flags: m.giaddr !== ZERO ? m.flags | FLAG_BROADCAST : m.flags, ciaddr: ZERO, yiaddr: ZERO, siaddr: ZERO,
    giaddr: m.giaddr, chaddr: m.chaddr, options: [[Opt.SERVER_ID, optIp(net.gateway)], [Opt.MESSAGE, optString(log.slice(0, 200))], ...relayEcho(m)],
  };
  return { reply, ...(m.giaddr !== ZERO ? destination(m) : { to: "broadcast", port: CLIENT_PORT }), log: `${log}: nak` };
}

function ack(net: Network, m: DhcpMessage, type: MessageType, a: Attachment | null, yiaddr: string, withLease = true): DhcpReply {
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
  options.push(...relayEcho(m));
  return {
    type, xid: m.xid, flags: m.flags, ciaddr: m.ciaddr, yiaddr, siaddr: ZERO, giaddr: m.giaddr, chaddr: m.chaddr, options,
  };
}
