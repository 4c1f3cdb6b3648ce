/**
 * Which host interfaces may become a bridged network's uplink, and why the others may not: the
 * kernel's own refusals in br_add_if (loopback, not Ethernet, a bridge, already enslaved, Wi-Fi in
 * station mode) turned into one clear line each, checked before anything changes, plus vmlan's
 * rule that its own bridges and TAPs are never uplinks.
 */
import { existsSync } from "node:fs";
import { AF_INET, IFF_LOOPBACK, IFF_UP } from "../../../ffi/libc/constants.ts";
import { ARPHRD_ETHER, ARPHRD_LOOPBACK, RT_TABLE_MAIN } from "../../../ffi/netlink/constants.ts";
import { ConflictError, NotFoundError, UsageError } from "../../core/errors.ts";
import type { UplinkCandidate, UplinkInfo } from "../types.ts";
import { ALIAS_PREFIX } from "./bridge.ts";
import { formatAddress } from "./ip.ts";
import { type Addr, getLink, getLinkByIndex, type Link, listAddrs, listLinks } from "./links.ts";
import type { Netlink } from "./netlink.ts";
import { routesVia } from "./routes.ts";

/** Quoted as every error line quotes a value (cli/run.ts escapes control characters in the line). */
const q = (s: string) => `"${s}"`;

/** Why `link` cannot be an uplink (one line), or null; `master` is the bridge it is on, if any. */
export function refusal(link: Link, master: Link | null, ownBridge: string): { message: string; exit: "usage" | "conflict" } | null {
  const name = q(link.name);
  if (link.flags & IFF_LOOPBACK || link.type === ARPHRD_LOOPBACK) return { message: `uplink ${name} is the loopback interface; give the host's LAN interface`, exit: "usage" };
  if (link.alias?.startsWith(ALIAS_PREFIX)) {
    return { message: `uplink ${name} is vmlan's own bridge of network ${q(link.alias.slice(ALIAS_PREFIX.length))}; give the host's LAN interface`, exit: "usage" };
  }
  if (link.kind === "bridge") return { message: `uplink ${name} is a bridge; give the interface that connects it to the LAN (a bridge cannot join another)`, exit: "usage" };
  if (master && master.name !== ownBridge) {
    const who = master.alias?.startsWith(ALIAS_PREFIX) ? `vmlan's ${q(master.name)}` : `${master.kind ?? "device"} ${q(master.name)}`;
    return { message: `uplink ${name} is already enslaved to ${who}; release it first (ip link set ${link.name} nomaster)`, exit: "conflict" };
  }
  if (link.type !== ARPHRD_ETHER || link.mac?.length !== 6) {
    return { message: `uplink ${name} is not an Ethernet interface (link type ${link.type}); a bridge takes Ethernet-like interfaces only`, exit: "usage" };
  }
  if (isWireless(link.name)) {
    return { message: `uplink ${name} is a Wi-Fi interface: Linux cannot bridge a Wi-Fi station; use a wired interface (or route/NAT with --mode shared)`, exit: "usage" };
  }
  return null;
}

/** Wi-Fi devices have a wireless/ or phy80211 entry in sysfs (the kernel then refuses br_add_if). */
function isWireless(name: string): boolean {
  return existsSync(`/sys/class/net/${name}/wireless`) || existsSync(`/sys/class/net/${name}/phy80211`);
}

const masterOf = (nl: Netlink, link: Link): Link | null => (link.master ? getLinkByIndex(nl, link.master) : null);

const v4 = (addrs: Addr[]) => addrs.filter((a) => a.family === AF_INET).map((a) => `${formatAddress(a.address)}/${a.prefixlen}`);

/** The uplink `name` after every check (see refusal); `ownBridge` is the network's bridge, which it may already be on. */
export function checkUplink(nl: Netlink, name: string, ownBridge: string): Link {
  const link = getLink(nl, name);
  if (!link) throw new NotFoundError(`no interface named ${q(name)} (--uplink); see \`vmlan network uplinks\` for the ones that can be bridged`, { details: { uplink: name } });
  const r = refusal(link, masterOf(nl, link), ownBridge);
  if (r) throw r.exit === "conflict" ? new ConflictError(r.message, { details: { uplink: name } }) : new UsageError(r.message, { details: { uplink: name } });
  return link;
}

/**
 * What the network records about its uplink. When the uplink is already on the network's bridge
 * (a repair), its addresses and default route are the bridge's.
 */
export function describeUplink(nl: Netlink, name: string, ownBridge: string): UplinkInfo {
  const link = checkUplink(nl, name, ownBridge);
  const bridge = link.master ? getLink(nl, ownBridge) : null;
  const holder = bridge ?? link;
  const def = routesVia(nl, holder.index).find((r) => r.family === AF_INET && r.prefix === 0 && r.gateway && r.table === RT_TABLE_MAIN);
  return { name, mtu: link.mtu, ipv4: v4(listAddrs(nl, holder.index)), defaultGateway: def?.gateway ?? null };
}

/** Every interface that could be an uplink now, in index order (vmnet-helper --list-shared-interfaces). */
export function listCandidates(nl: Netlink): UplinkCandidate[] {
  const links = listLinks(nl);
  const byIndex = new Map(links.map((l) => [l.index, l]));
  const addrs = listAddrs(nl);
  return links
    .filter((l) => refusal(l, l.master ? byIndex.get(l.master) ?? null : null, "") === null)
    .sort((a, b) => a.index - b.index)
    .map((l) => ({ name: l.name, state: l.flags & IFF_UP ? "up" : "down", mtu: l.mtu, ipv4: v4(addrs.filter((a) => a.index === l.index)) }));
}
