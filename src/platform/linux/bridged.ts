/**
 * Bridged networks on Linux: the uplink is enslaved to the network's bridge, and the host's LAN
 * configuration (addresses, and the routes that use them, e.g. the default route) moves from the
 * uplink to the bridge; removing the network gives it back. No NAT and no nftables table: guests are
 * hosts of the LAN. Every step is idempotent and follows the store's journal, written before anything
 * moves, so a crash at any point is repaired by the next ensure (system start) or remove (network rm).
 *
 * Flow: ensureBridged = check uplink → journal (record + what the uplink gained) → bridge with the
 * uplink's MAC → enslave → move to bridge. removeBridged = release → move back → delete bridge →
 * clear the journal (or keep what could not move, and say so).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { IFF_UP } from "../../../ffi/libc/constants.ts";
import { HostError } from "../../core/errors.ts";
import type { HostNetworkSpec, HostNetworkStatus, UplinkJournal } from "../types.ts";
import { assertOurs, ensureBridge, ownership } from "./bridge.ts";
import { formatAddress } from "./ip.ts";
import { deleteLink, getLink, listAddrs, setLink } from "./links.ts";
import type { Netlink } from "./netlink.ts";
import { checkUplink } from "./uplink.ts";
import { failedPart, merge, type MoveFailure, moveConfig, sameRecord, snapshot } from "./uplink-move.ts";

function parts(spec: HostNetworkSpec): { uplink: string; journal: UplinkJournal } {
  if (!spec.uplink || !spec.journal) throw new HostError(`bridged network "${spec.name}" was given to the platform without its uplink or journal`);
  return { uplink: spec.uplink, journal: spec.journal };
}

export function ensureBridged(nl: Netlink, spec: HostNetworkSpec): void {
  const { uplink: name, journal } = parts(spec);
  const uplink = checkUplink(nl, name, spec.bridge);
  const existing = getLink(nl, spec.bridge);
  if (existing) assertOurs(existing, spec.name); // a foreign interface with our name: refused before anything moves
  const before = journal.read();
  // What the uplink holds now joins the record first: nothing moves that the store does not know of.
  const moved = merge(before, snapshot(nl, uplink.index, name));
  if (!sameRecord(before, moved)) journal.write(moved);
  // The uplink's MAC, fixed: the LAN keeps seeing the host at the same address (ARP caches, DHCP
  // reservations), and a guest port with a lower MAC cannot change it (the kernel's default).
  const index = ensureBridge(nl, { name: spec.bridge, network: spec.name, mtu: spec.mtu, addresses: null, mac: uplink.mac ?? undefined });
  copyIpv6Settings(name, spec.bridge);
  if (uplink.master !== index) setLink(nl, uplink.index, name, { master: index });
  if (!(uplink.flags & IFF_UP)) setLink(nl, uplink.index, name, { up: true });
  const failures = moveConfig(nl, moved, { index: uplink.index, name }, { index, name: spec.bridge });
  if (failures.length) throw new HostError(`bridged network "${spec.name}" is up, but ${describe(failures)} did not move from ${name} to ${spec.bridge}`, { details: { failures } });
}

export function removeBridged(nl: Netlink, spec: HostNetworkSpec): void {
  const { uplink: name, journal } = parts(spec);
  const bridge = getLink(nl, spec.bridge);
  if (bridge) assertOurs(bridge, spec.name);
  const uplink = getLink(nl, name);
  if (uplink && bridge && uplink.master === bridge.index) setLink(nl, uplink.index, name, { master: 0 });
  const moved = journal.read();
  // An uplink that is gone (unplugged) took its configuration with it; the system gives it a new one.
  const failures = moved && uplink ? moveConfig(nl, moved, bridge ? { index: bridge.index, name: spec.bridge } : null, { index: uplink.index, name }) : [];
  if (bridge) deleteLink(nl, bridge.index, spec.bridge);
  if (failures.length === 0) {
    journal.write(null);
    return;
  }
  journal.write(failedPart(moved!, failures));
  throw new HostError(`${describe(failures)} could not be given back to ${name}; put it back by hand or run \`vmlan network rm ${spec.name}\` again`, { details: { failures } });
}

/**
 * The host now learns IPv6 on the bridge, so it takes the uplink's IPv6 settings: whether IPv6 is on,
 * whether router advertisements are taken (accept_ra 2 = even while forwarding) and SLAAC.
 */
const IPV6_SETTINGS = ["disable_ipv6", "accept_ra", "autoconf"];

function copyIpv6Settings(uplink: string, bridge: string): void {
  for (const key of IPV6_SETTINGS) {
    const from = `/proc/sys/net/ipv6/conf/${uplink}/${key}`;
    const to = `/proc/sys/net/ipv6/conf/${bridge}/${key}`;
    if (!existsSync(from) || !existsSync(to)) continue; // IPv6 off in this kernel
    const want = readFileSync(from, "utf8").trim();
    if (readFileSync(to, "utf8").trim() === want) continue;
    try {
      writeFileSync(to, `${want}\n`);
    } catch (cause) {
      throw new HostError(`cannot set ${to} to ${want} (the uplink's): ${(cause as Error).message}`, { cause });
    }
  }
}

function describe(failures: readonly MoveFailure[]): string {
  return failures.map((f) => (f.address ? `address ${f.address.address}/${f.address.prefix}` : `route ${f.route!.prefix ? `${f.route!.dst}/${f.route!.prefix}` : "default"}${f.route!.gateway ? ` via ${f.route!.gateway}` : ""}`) + ` (${f.message})`).join(", ");
}

/** Up = our bridge exists and is up with the uplink enslaved to it. Never throws for missing objects. */
export function bridgedStatus(nl: Netlink, spec: HostNetworkSpec): HostNetworkStatus {
  const base = { name: spec.name, bridge: spec.bridge, nat: false };
  const bridge = getLink(nl, spec.bridge);
  if (!bridge) return { ...base, up: false, addresses: [], detail: `bridge ${spec.bridge} does not exist` };
  const own = ownership(bridge, spec.name);
  if (own === "half-made") return { ...base, up: false, addresses: [], detail: `bridge ${spec.bridge} was left half-made by an interrupted create; \`vmlan system start\` repairs it` };
  if (own === "foreign") return { ...base, up: false, addresses: [], detail: `interface ${spec.bridge} is not vmlan's (alias ${bridge.alias ?? "none"})` };
  const addresses = listAddrs(nl, bridge.index)
    .filter((a) => !(a.address.length === 16 && a.address[0] === 0xfe && (a.address[1]! & 0xc0) === 0x80))
    .map((a) => `${formatAddress(a.address)}/${a.prefixlen}`);
  const uplink = spec.uplink ? getLink(nl, spec.uplink) : null;
  const enslaved = uplink?.master === bridge.index;
  const detail = !uplink ? `uplink ${spec.uplink} does not exist` : !enslaved ? `uplink ${spec.uplink} is not on ${spec.bridge}` : undefined;
  return { ...base, up: (bridge.flags & IFF_UP) !== 0 && enslaved, addresses, ...(detail ? { detail } : {}) };
}
