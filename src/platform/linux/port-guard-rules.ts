/**
 * The nftables rules that keep a VM's frames honest on a port vmlan made for it (issue #12 item 2),
 * the policy of libvirt's nwfilter `clean-traffic` (no-mac-spoofing, no-ip-spoofing,
 * no-arp-spoofing, no-other-l2-traffic, qemu-announce-self) plus the guards every multi-tenant
 * switch adds: no DHCP or DHCPv6 server and no router advertisement from a guest (RFC 6105 RA guard).
 * Pure: a port's identity in, nft script text out; every value is validated before it is written.
 *
 * Layout (issue #15 §4): ONE table in the bridge family, `bridge vmlan`, for every network, so a
 * bridged frame costs one map lookup however many networks there are (a table per network, each
 * with its own base chain, made every frame walk all of them):
 *   chain guard             prerouting hook, priority -300: before any other bridge filter and before
 *                           the bridge learns the frame's source into its FDB, so a forged MAC never
 *                           poisons it; one rule, `iif vmap @ports`
 *   map ports               iface_index : jump port_<bridge>_<ifindex>, one element per guarded port
 *   chain port_<b>_<N>      that port's rules (only its own frames ever reach them)
 *   set mac_<b>_<N>         a learning port's MAC: the first source MAC the port sends (a dynamic
 *                           set of size 1: the kernel adds the first and refuses any other); a
 *                           pinned port's MAC (given, or learned and then pinned) is a value in its rules
 *   set claimed_<b>         the MACs the network's ports are pinned to: a port still learning never
 *                           learns one of them, so no guest takes another guest's MAC with its first
 *                           frame; it also marks the network as present in the table
 * A network's and a port's objects are named by its bridge, so adding or removing one touches no
 * other's. Keyed by ifindex, not name: the kernel hands a TAP name (vlt0, ...) to the next TAP at
 * once, an ifindex not for 2^31 more; rules of a port that went can never apply to a new one (a name
 * key would put the next TAP of that name, perhaps on another network, under a stranger's rules),
 * and are swept. The lookup costs the same either way (a hash of 4 bytes, or of 16).
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

/**
 * The constant sets every port's chain looks up, named in the table once (a set per port and rule
 * would make each port's commit slower with every port already there: libnftables reads every set
 * of the table, and each interval set's elements, before each transaction; 300 ports: ~1 ms → ~30 ms).
 * Set name → its declaration and elements.
 */
const SHARED_SETS = {
  // IPv4, ARP, IPv6 and RARP (0x8035: QEMU's announce-self after migration, as clean-traffic allows).
  ethertypes: ["ether_type", "ip, arp, ip6, 0x8035"],
  // A DHCP or DHCPv6 server's source port.
  dhcp_servers: ["inet_service", "67, 547"],
  // A router's messages.
  router_msgs: ["icmpv6_type", "nd-router-advert, nd-redirect"],
  // Before an address: DAD and router solicitations come from :: (RFC 4862 5.4, RFC 4861 6.3.7), MLD reports too (RFC 3810 5.2.13).
  unspecified_msgs: ["icmpv6_type", "nd-neighbor-solicit, nd-router-solicit, mld-listener-report, mld2-listener-report"],
} as const;

export const GUARD_TABLE_NAME = "vmlan";
const T = `bridge ${GUARD_TABLE_NAME}`;

/** The port's chain and its MAC set, and the network's set of pinned MACs (nft names allow '-' and '.'). */
export const portChain = (bridge: string, ifindex: number) => `port_${checkIfname(bridge)}_${index(ifindex)}`;
export const macSet = (bridge: string, ifindex: number) => `mac_${checkIfname(bridge)}_${index(ifindex)}`;
export const claimedSet = (bridge: string) => `claimed_${checkIfname(bridge)}`;

/** A port chain's bridge and ifindex (the index is the last `_<digits>`: a bridge name may hold '_'); null for any other name. */
export function parsePortChain(name: string): { bridge: string; ifindex: number } | null {
  const m = /^port_(.+)_(\d+)$/.exec(name);
  return m ? { bridge: m[1]!, ifindex: Number(m[2]) } : null;
}
/** The bridge a `claimed_<bridge>` set belongs to, or null. */
export const parseClaimedSet = (name: string): string | null => (name.startsWith("claimed_") ? name.slice("claimed_".length) : null);

/** A MAC as nft takes it (lower case), or UsageError. */
export function checkMac(s: string): string {
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

/**
 * The table, its map and base chain if missing. The base chain is flushed and refilled in the same
 * transaction (its one rule never changes), so any setup repairs a damaged skeleton; the map's
 * elements, the ports' chains and sets (their learned MACs) are never touched.
 */
export function skeletonScript(): string {
  return [
    `add table ${T}`,
    `add map ${T} ports { type iface_index : verdict; }`,
    ...Object.entries(SHARED_SETS).flatMap(([name, [type, elements]]) => [`add set ${T} ${name} { type ${type}; }`, `add element ${T} ${name} { ${elements} }`]),
    `add chain ${T} guard { type filter hook prerouting priority -300; policy accept; }`,
    `flush chain ${T} guard`,
    `add rule ${T} guard iif vmap @ports`,
    "",
  ].join("\n");
}

/** The skeleton and the network's own set; never touches the ports' rules. */
export const tableScript = (bridge: string) => `${skeletonScript()}add set ${T} ${claimedSet(bridge)} { type ether_addr; }\n`;

/**
 * Lines that remove one port's element, chain and set whether or not each is there (each is added
 * first: nft's delete alone fails on a missing one). `dispatched: false`: the map's element for
 * that ifindex is not this chain's (none, or another bridge's port: adding ours would fail), left alone.
 */
function dropPortLines(bridge: string, n: number, dispatched = true): string[] {
  const chain = portChain(bridge, n);
  const set = macSet(bridge, n);
  return [
    `add chain ${T} ${chain}`,
    `add set ${T} ${set} { type ether_addr; size 1; flags dynamic; }`,
    ...(dispatched ? [`add element ${T} ports { ${n} : jump ${chain} }`, `delete element ${T} ports { ${n} : jump ${chain} }`] : []),
    `flush chain ${T} ${chain}`,
    `delete chain ${T} ${chain}`,
    `delete set ${T} ${set}`,
  ];
}

/**
 * Removes the network from the table: its ports (the ones a listing found) and its
 * claimed set; nothing of another network's. Call it only when the table exists (it adds its map).
 */
export function networkTeardownScript(bridge: string, ports: Array<{ ifindex: number; dispatched: boolean }>): string {
  const claimed = claimedSet(bridge);
  return [
    `add table ${T}`,
    `add map ${T} ports { type iface_index : verdict; }`,
    ...ports.flatMap((p) => dropPortLines(bridge, p.ifindex, p.dispatched)),
    `add set ${T} ${claimed} { type ether_addr; }`,
    `delete set ${T} ${claimed}`,
    "",
  ].join("\n");
}

/** `add` then `delete`: removes an element whether or not it is there (nft's delete alone fails on a missing one). */
function unclaim(set: string, m: string | null): string[] {
  return m === null ? [] : [`add element ${T} ${set} { ${checkMac(m)} }`, `delete element ${T} ${set} { ${checkMac(m)} }`];
}

/**
 * Installs or replaces one port's rules in one transaction (the port is never unguarded in between).
 * `previous`: the MAC the port was pinned to before, released from the claimed set when it changes.
 * The network's skeleton (tableScript) must be there or come first in the same transaction.
 * A new port's rules (pinned or learning) are installed from port-guard-netlink.ts's copy of these, as a batch:
 * change both (test/integration/platform/guard-netlink.test.ts compares what the kernel gets).
 */
export function portScript(bridge: string, p: GuardedPort, previous: string | null = null): string {
  const n = index(p.ifindex);
  const chain = portChain(bridge, n);
  const set = macSet(bridge, n);
  const claimed = claimedSet(bridge);
  const rule = (r: string) => `add rule ${T} ${chain} ${r}`;
  const pinned = p.mac === null ? null : checkMac(p.mac);
  // Learning: the port's MAC is its set's one element. Pinned: a value in its rules, and no set at all
  // (a set per port makes every later commit slower: SHARED_SETS); a learning port's set goes when it is pinned.
  const macRef = pinned ?? `@${set}`;
  const out = [...(pinned ? [] : [`add set ${T} ${set} { type ether_addr; size 1; flags dynamic; }`]), `add chain ${T} ${chain}`, `flush chain ${T} ${chain}`];
  if (previous !== null && previous !== pinned) out.push(...unclaim(claimed, previous));
  if (pinned) out.push(`add element ${T} ${claimed} { ${pinned} }`);
  out.push(
    rule("ether saddr & 01:00:00:00:00:00 == 01:00:00:00:00:00 drop"), // a group address is never a source
    rule("ether type != @ethertypes drop"), // no VLAN tags, STP, LLDP or anything else
  );
  // Learns the first source MAC (then the set is full), unless another port is pinned to it.
  if (!pinned) out.push(rule(`ether saddr @${claimed} drop`), rule(`add @${set} { ether saddr }`));
  out.push(
    rule(`ether saddr != ${macRef} drop`),
    rule(`arp saddr ether != ${macRef} drop`),
    rule("udp sport @dhcp_servers drop"), // no DHCP or DHCPv6 server in a guest
    rule("icmpv6 type @router_msgs drop"), // nor a router
  );
  if (p.lease) {
    const lm = checkMac(p.lease.mac);
    // A port's own addresses as one comparison each (`x != a x != b` is `x` in neither), not a set of
    // its own: no set per port but its MAC's (SHARED_SETS says why). The lease's, and any static space.
    const own = [ipv4(p.lease.ipv4), ...(p.lease.static ?? []).map(ipv4Range)];
    const notAny = (field: string, values: string[]) => values.map((v) => `${field} != ${v}`).join(" ");
    out.push(
      rule(`${notAny("arp saddr ip", [...own, "0.0.0.0"])} drop`), // 0.0.0.0: ARP probes (RFC 5227)
      // Before a lease is bound: DHCP from 0.0.0.0, only from the lease's MAC and for it (chaddr, BOOTP offset 28).
      rule(`ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 ether saddr ${lm} @ih,224,48 0x${lm.replaceAll(":", "")} accept`),
      rule(`${notAny("ip saddr", own)} drop`),
      rule("ip6 saddr :: icmpv6 type @unspecified_msgs accept"),
      // No IPv6 address of its own (none given): nothing but the unspecified-source messages above.
      rule(p.lease.ipv6.length ? `${notAny("ip6 saddr", p.lease.ipv6.map(ipv6))} drop` : "ether type ip6 drop"),
    );
  }
  if (pinned) out.push(`add set ${T} ${set} { type ether_addr; size 1; flags dynamic; }`, `delete set ${T} ${set}`); // after the flush: nothing uses it
  out.push(`add element ${T} ports { ${n} : jump ${chain} }`, "");
  return out.join("\n");
}

/**
 * Removes one port's rules (by ifindex, so it works after the TAP is gone) and frees its MAC. Fails
 * when there is no table at all (never recreates one: `system stop` took it, with the port's rules).
 */
export function removePortScript(bridge: string, ifindex: number, pinned: string | null, dispatched = true): string {
  const claimed = claimedSet(bridge);
  return [
    `add map ${T} ports { type iface_index : verdict; }`,
    ...(pinned === null ? [] : [`add set ${T} ${claimed} { type ether_addr; }`, ...unclaim(claimed, pinned)]),
    ...dropPortLines(bridge, index(ifindex), dispatched),
    "",
  ].join("\n");
}
