/**
 * The nftables rules that keep a VM's frames honest on a port vmlan made for it (issue #12 item 2),
 * the policy of libvirt's nwfilter `clean-traffic` (no-mac-spoofing, no-ip-spoofing,
 * no-arp-spoofing, no-other-l2-traffic, qemu-announce-self) plus the guards every multi-tenant
 * switch adds: no DHCP or DHCPv6 server and no router advertisement from a guest (RFC 6105 RA guard).
 * Pure: a port's identity in, nft script text out; every value is validated before it is written.
 *
 * Layout: one table per network in the bridge family, `bridge vmlan_<bridge>`:
 *   chain guard   prerouting hook, priority -300: before any other bridge filter and before the bridge
 *                 learns the frame's source into its FDB, so a forged MAC never poisons it;
 *                 one rule, `iif vmap @ports`
 *   map ports     iface_index : jump port_<ifindex>, one element per guarded port
 *   chain port_N  that port's rules (only its own frames ever reach them)
 *   set mac_N     the port's MAC: the given one, or the first source MAC the port sends (a dynamic
 *                 set of size 1: the kernel adds the first and refuses any other)
 *   set claimed   the MACs ports are pinned to: a port still learning never learns one of them, so
 *                 no guest can take another guest's MAC with its first frame
 * Keyed by ifindex, not name: the kernel hands a TAP name (vlt0, ...) to the next TAP at once, an
 * ifindex not for 2^31 more; rules of a port that went can never apply to a new one, and are swept.
 */
import { UsageError } from "../../core/errors.ts";
import { checkIfname, parseAddress } from "./ip.ts";

export interface GuardedPort {
  ifindex: number;
  /** The port's MAC; null: the first source MAC seen becomes it. */
  mac: string | null;
  /** The port's lease; null: not known yet (IPv4 and IPv6 sources are checked once it is). */
  lease: { mac: string; ipv4: string; ipv6: string[]; static?: string[] } | null;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
/** IPv4, ARP, IPv6 and RARP (0x8035: QEMU's announce-self after migration, as clean-traffic allows). */
const ETHERTYPES = "{ ip, arp, ip6, 0x8035 }";
/** Before an address: DAD and router solicitations come from :: (RFC 4862 5.4, RFC 4861 6.3.7), MLD reports too (RFC 3810 5.2.13). */
const UNSPECIFIED_ICMPV6 = "{ nd-neighbor-solicit, nd-router-solicit, mld-listener-report, mld2-listener-report }";

export const guardTable = (bridge: string) => `vmlan_${checkIfname(bridge)}`;

function mac(s: string): string {
  const m = s.toLowerCase();
  if (!MAC_RE.test(m)) throw new UsageError(`invalid MAC address "${s}"`);
  return m;
}
function ipv4(s: string): string {
  const a = parseAddress(s);
  if (a.family !== 2) throw new UsageError(`invalid IPv4 address "${s}"`);
  return s;
}
/** "a.b.c.d" or "a.b.c.d-e.f.g.h" (an nft range). */
function ipv4Range(s: string): string {
  const parts = s.split("-");
  if (parts.length > 2) throw new UsageError(`invalid IPv4 range "${s}"`);
  parts.forEach(ipv4);
  return s;
}
function ipv6(s: string): string {
  const a = parseAddress(s);
  if (a.family !== 10) throw new UsageError(`invalid IPv6 address "${s}"`);
  return s;
}
function index(n: number): number {
  if (!Number.isInteger(n) || n <= 0 || n > 0x7fffffff) throw new UsageError(`invalid interface index ${n}`);
  return n;
}

/** Creates the network's table, map and base chain if missing; never touches the ports' rules. */
export function tableScript(bridge: string): string {
  const t = `bridge ${guardTable(bridge)}`;
  return [
    `add table ${t}`,
    `add map ${t} ports { type iface_index : verdict; }`,
    `add set ${t} claimed { type ether_addr; }`,
    `add chain ${t} guard { type filter hook prerouting priority -300; policy accept; }`,
    `flush chain ${t} guard`,
    `add rule ${t} guard iif vmap @ports`,
    "",
  ].join("\n");
}

export function deleteTableScript(bridge: string): string {
  const t = `bridge ${guardTable(bridge)}`;
  return `add table ${t}\ndelete table ${t}\n`;
}

/** `add` then `delete`: removes an element whether or not it is there (nft's delete alone fails on a missing one). */
function unclaim(t: string, m: string | null): string[] {
  return m === null ? [] : [`add element ${t} claimed { ${mac(m)} }`, `delete element ${t} claimed { ${mac(m)} }`];
}

/**
 * Installs or replaces one port's rules in one transaction (the port is never unguarded in between).
 * `previous`: the MAC the port was pinned to before, released from `claimed` when it changes.
 */
export function portScript(bridge: string, p: GuardedPort, previous: string | null = null): string {
  const t = `bridge ${guardTable(bridge)}`;
  const n = index(p.ifindex);
  const chain = `port_${n}`;
  const set = `mac_${n}`;
  const rule = (r: string) => `add rule ${t} ${chain} ${r}`;
  const out = [
    `add set ${t} ${set} { type ether_addr; size 1; flags dynamic; }`,
    `add chain ${t} ${chain}`,
    `flush chain ${t} ${chain}`,
  ];
  if (previous !== null && previous !== p.mac) out.push(...unclaim(t, previous));
  if (p.mac !== null) out.push(`flush set ${t} ${set}`, `add element ${t} ${set} { ${mac(p.mac)} }`, `add element ${t} claimed { ${mac(p.mac)} }`);
  out.push(
    rule("ether saddr & 01:00:00:00:00:00 == 01:00:00:00:00:00 drop"), // a group address is never a source
    rule(`ether type != ${ETHERTYPES} drop`), // no VLAN tags, STP, LLDP or anything else
  );
  // Learns the first source MAC (then the set is full), unless another port is pinned to it.
  if (p.mac === null) out.push(rule("ether saddr @claimed drop"), rule(`add @${set} { ether saddr }`));
  out.push(
    rule(`ether saddr != @${set} drop`),
    rule(`arp saddr ether != @${set} drop`),
    rule("udp sport { 67, 547 } drop"), // no DHCP or DHCPv6 server in a guest
    rule("icmpv6 type { nd-router-advert, nd-redirect } drop"), // nor a router
  );
  if (p.lease) {
    const a = ipv4(p.lease.ipv4);
    const lm = mac(p.lease.mac);
    const own = [a, ...(p.lease.static ?? []).map(ipv4Range)].join(", "); // the lease's, and any static space
    out.push(
      rule(`arp saddr ip != { ${own}, 0.0.0.0 } drop`), // 0.0.0.0: ARP probes (RFC 5227)
      // Before a lease is bound: DHCP from 0.0.0.0, only from the lease's MAC and for it (chaddr, BOOTP offset 28).
      rule(`ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 ether saddr ${lm} @ih,224,48 0x${lm.replaceAll(":", "")} accept`),
      rule(`ip saddr != { ${own} } drop`),
      rule(`ip6 saddr :: icmpv6 type ${UNSPECIFIED_ICMPV6} accept`),
      // No IPv6 address of its own (none given): nothing but the unspecified-source messages above.
      rule(p.lease.ipv6.length ? `ip6 saddr != { ${p.lease.ipv6.map(ipv6).join(", ")} } drop` : "ether type ip6 drop"),
    );
  }
  out.push(`add element ${t} ports { ${n} : jump ${chain} }`, "");
  return out.join("\n");
}

/** Removes one port's rules (by ifindex, so it works after the TAP is gone) and frees its MAC. */
export function removePortScript(bridge: string, ifindex: number, pinned: string | null): string {
  const t = `bridge ${guardTable(bridge)}`;
  const n = index(ifindex);
  // Each object is added first so that its delete cannot fail on a half-removed port.
  return [
    `add set ${t} claimed { type ether_addr; }`,
    ...unclaim(t, pinned),
    `add map ${t} ports { type iface_index : verdict; }`,
    `add chain ${t} port_${n}`,
    `add set ${t} mac_${n} { type ether_addr; size 1; flags dynamic; }`,
    `add element ${t} ports { ${n} : jump port_${n} }`,
    `delete element ${t} ports { ${n} : jump port_${n} }`,
    `flush chain ${t} port_${n}`,
    `delete chain ${t} port_${n}`,
    `delete set ${t} mac_${n}`,
    "",
  ].join("\n");
}
