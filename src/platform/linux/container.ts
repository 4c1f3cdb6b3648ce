/**
 * The Linux ContainerLinker: a veth from the container's namespace to the network's bridge.
 * add = createVeth (peer born in the namespace) → anti-spoofing rules (port-guard.ts), then alias and
 * up on the host end → inside the namespace (netns.netlinkIn): up, addresses, routes. Any failure after the
 * pair exists deletes it (and its rules), so a failed ADD leaves nothing behind. remove = delete the
 * host end (the kernel deletes the peer with it), which works when the namespace is already gone,
 * then its rules; rules of a veth that went with its namespace are swept like a TAP's.
 */
import { AF_INET6, IFF_UP } from "../../../ffi/libc/constants.ts";
import { libc } from "../../../ffi/libc/load.ts";
import { IFA_F_NODAD, RTM_NEWLINK } from "../../../ffi/netlink/constants.ts";
import { EEXIST } from "../../../ffi/errno.ts";
import { ConflictError, SyscallError } from "../../core/errors.ts";
import type { ContainerLinker, ContainerLinkSpec, ContainerLinkState } from "../container.ts";
import { aliasFor } from "./bridge.ts";
import { formatAddress, parseCidrLoose } from "./ip.ts";
import { addAddrRequest, deleteLink, getLink, type Link, listAddrs, setLink, setLinkRequest, toLink } from "./links.ts";
import { withFileLock } from "./lock.ts";
import { netlinkIn, netlinkInFd, netnsKind, openNetns } from "./netns.ts";
import { Netlink, type NlRequest } from "./netlink.ts";
import { forgetPort, guardPort, isGuarded, sweepGuards } from "./port-guard.ts";
import { addRouteRequest, createVeth, routesVia, type StaticRoute, vethRequest } from "./veth.ts";
import { warmNewPort } from "./port-guard-netlink.ts";
import { message, parseMessages } from "../../../ffi/netlink/encode.ts";

const macBytes = (mac: string) => Uint8Array.from(mac.split(":").map((h) => parseInt(h, 16)));
const macText = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":");

/**
 * The host end's MAC: fe + the container's last five bytes. A bridge takes the lowest MAC of its
 * ports when none was set on it; fe:... never is the lowest, so a container joining never changes
 * the gateway's MAC under the guests (libvirt's trick for TAPs). A container MAC that starts with
 * fe itself (1 in 64 of the derived ones) gets fa (as high, local, unicast): the same MAC on both
 * ends makes it a local address of the bridge, and frames to the container end at the gateway
 * (it reaches the gateway, never a peer).
 */
function hostMacFor(mac: string): Uint8Array {
  const b = macBytes(mac);
  b[0] = b[0] === 0xfe ? 0xfa : 0xfe;
  return b;
}

/**
 * One rtnetlink socket in this (the host's) namespace, kept for the process's life: the services
 * daemon runs call after call (cni/serve.ts), and a socket per step (bridgeUp, then the ADD) cost
 * its open, options and bind each time. Requests are synchronous and matched by sequence number, so
 * what a failed request left unread is skipped by the next one.
 */
let hostSocket: Netlink | null = null;
function withHostNetlink<T>(fn: (nl: Netlink) => T): T {
  hostSocket ??= Netlink.open();
  return fn(hostSocket);
}

function inside<T>(netns: string, fn: (nl: Netlink) => T): T {
  const nl = netlinkIn(netns);
  try {
    return fn(nl);
  } finally {
    nl.close();
  }
}

/**
 * Creates the pair. A host end left by an ADD that was killed before it finished (its name comes
 * from the attachment, so the same ADD again meets it) makes the creation fail with EEXIST: then,
 * and only then, it is looked up: ours → deleted and the pair made again; someone else's → refused.
 * Any other EEXIST is the container's interface name. Returns the host end when the kernel echoed it.
 */
function createPair(nl: Netlink, s: ContainerLinkSpec, nsfd: number, bridgeIndex: number, hostMac: Uint8Array): Link | null {
  const spec = { hostName: s.hostIfname, hostMac, peerName: s.ifname, peerMac: macBytes(s.mac), peerNetnsFd: nsfd, mtu: s.mtu, master: bridgeIndex };
  const taken = (e: unknown) => e instanceof SyscallError && e.errno === EEXIST;
  const ifnameTaken = (e: unknown) => new ConflictError(`interface ${s.ifname} already exists in ${s.netns}`, { cause: e });
  try {
    return createVeth(nl, spec);
  } catch (e) {
    if (!taken(e)) throw e;
    const stale = getLink(nl, s.hostIfname);
    if (!stale) throw ifnameTaken(e);
    if (!isOurs(stale, s.alias, bridgeIndex)) throw new ConflictError(`interface ${s.hostIfname} exists and is not vmlan's (alias ${stale.alias ?? "none"})`);
    deleteLink(nl, stale.index, s.hostIfname);
  }
  try {
    return createVeth(nl, spec);
  } catch (e) {
    throw taken(e) ? ifnameTaken(e) : e;
  }
}

/**
 * `peer`: the container end's ifindex, as the host end reports it (IFLA_LINK); else it is looked up
 * by name. Addresses, up, routes: one datagram, in that order (the kernel runs each in turn, and a
 * route's gateway is on-link by the address's prefix by then); any failure fails the ADD, whose
 * caller deletes the pair, except a route that exists: the same destination through another
 * interface of the container (the first one's default route wins).
 */
function configureInside(nl: Netlink, s: ContainerLinkSpec, peer: number | null): StaticRoute[] {
  const index = peer ?? getLink(nl, s.ifname)?.index;
  if (index === undefined) throw new ConflictError(`interface ${s.ifname} vanished from ${s.netns} while it was configured`);
  const setup = setupRequests(s, index);
  const errors = nl.requestEach([...setup, ...s.routes.map((r) => addRouteRequest(index, r))]);
  const failed = errors.slice(0, setup.length).find((e) => e !== null);
  if (failed) throw failed;
  const installed: StaticRoute[] = [];
  s.routes.forEach((r, i) => {
    const e = errors[setup.length + i];
    if (!e) installed.push(r);
    else if (e.errno !== EEXIST) throw e;
  });
  return installed;
}

function setupRequests(s: Pick<ContainerLinkSpec, "addresses" | "ifname">, index: number): NlRequest[] {
  const setup = s.addresses.map((a) => {
    const c = parseCidrLoose(a);
    // No DAD for v6: the address is vmlan's by construction and DAD would delay it ~1 s.
    return addAddrRequest({ family: c.family, address: c.bytes, prefixlen: c.prefix, flags: c.family === AF_INET6 ? IFA_F_NODAD : 0, index }, `${a} on ${s.ifname}`);
  });
  setup.push(setLinkRequest(index, s.ifname, { up: true }));
  return setup;
}

/**
 * An ADD's host work without its I/O, on made-up values: its requests built and their bytes read
 * back as replies are, and a port's rules written. The services daemon runs it before its first
 * container comes (cni/warm.ts), so the JIT has compiled what every ADD runs once.
 */
function warm(): void {
  const mac = "02:00:00:00:00:02";
  const reqs = [
    vethRequest({ hostName: "vlcwarm", hostMac: hostMacFor(mac), peerName: "eth0", peerMac: macBytes(mac), peerNetnsFd: 0, mtu: 1500, master: 1 }),
    setLinkRequest(3, "vlcwarm", { alias: "vmlan-cni:warm", up: true }),
    ...setupRequests({ addresses: ["10.0.0.2/24", "fd00::2/64"], ifname: "eth0" }, 2),
    addRouteRequest(2, { dst: "0.0.0.0/0", gw: "10.0.0.1" }),
  ];
  for (const m of parseMessages(Buffer.concat(reqs.map((r, i) => message(r.type, r.flags, i, r.parts))))) {
    if (m.type === RTM_NEWLINK) toLink(m.payload);
  }
  macText(hostMacFor(mac));
  warmNewPort();
}

function addContainerLink(s: ContainerLinkSpec): { hostMac: string; routes: StaticRoute[] } {
  const hostMac = hostMacFor(s.mac);
  let routes: StaticRoute[] = [];
  withHostNetlink((nl) => {
    const bridge = justChecked(s.bridge) ?? getLink(nl, s.bridge);
    if (!bridge) throw new ConflictError(`bridge ${s.bridge} does not exist`);
    // One fd on the namespace for both: the peer is made there, then configured through a socket made there.
    const nsfd = openNetns(s.netns);
    let host: Link | null = null;
    try {
      host = createPair(nl, s, nsfd, bridge.index, hostMac) ?? getLink(nl, s.hostIfname);
      if (!host) throw new ConflictError(`veth ${s.hostIfname} vanished right after it was created`);
      // Before the port is up: no frame from the container reaches the bridge unchecked (its MAC, its lease's addresses).
      guardPort(s.bridge, s.hostIfname, s.identity, { sweep: false, ifindex: host.index });
      // Alias and up in one request: a veth killed before it has its alias is still known as ours (isOurs).
      setLink(nl, host.index, s.hostIfname, { alias: s.alias, up: true });
      const cn = netlinkInFd(nsfd, s.netns);
      try {
        routes = configureInside(cn, s, host.iflink);
      } finally {
        cn.close();
      }
    } catch (e) {
      if (host) {
        deleteLink(nl, host.index, s.hostIfname);
        forgetQuietly(s.bridge, host.index, s.identity.allowSpoofing ? null : (s.identity.mac ?? undefined));
      }
      throw e;
    } finally {
      libc().close(nsfd);
    }
  });
  return { hostMac: macText(hostMac), routes };
}

/**
 * Ours: the alias we set, or no alias at all on a veth that is a port of our bridge — the state an
 * ADD killed between creating the pair and setting the alias leaves (the kernel applies IFLA_MASTER
 * at creation but not IFLA_IFALIAS, see bridge.ts).
 */
function isOurs(l: Link, alias: string, bridgeIndex: number | undefined): boolean {
  return l.alias === alias || (l.alias === null && l.kind === "veth" && bridgeIndex !== undefined && l.master === bridgeIndex);
}

/**
 * A port's rules after its veth is gone: best effort (what is left is swept by CNI GC, the services
 * daemon and `system start`). `pinned` as in removeContainerLink: known from the store, no listing.
 */
function forgetQuietly(bridge: string, ifindex: number, pinned?: string | null): void {
  if (pinned === null) return;
  try {
    forgetPort(bridge, ifindex, pinned);
  } catch {}
}

function removeContainerLink(o: { hostIfname: string; alias: string; bridge: string; pinned?: string | null }): boolean {
  const found = withHostNetlink((nl) => {
    const l = getLink(nl, o.hostIfname);
    if (!l) return "gone" as const; // with its namespace (or by an earlier DEL)
    // The bridge is looked up only for a veth without alias (an ADD killed before it set it).
    if (l.alias !== o.alias && !isOurs(l, o.alias, getLink(nl, o.bridge)?.index)) return null;
    deleteLink(nl, l.index, o.hostIfname);
    return l.index;
  });
  if (typeof found === "number") forgetQuietly(o.bridge, found, o.pinned);
  // A guarded veth that went with its namespace before its DEL took its ifindex along: the rules of
  // the bridge's gone ports are swept (callers that know nothing, GC, sweep once at their end).
  else if (found === "gone" && typeof o.pinned === "string") sweepQuietly(o.bridge);
  return typeof found === "number";
}

function sweepQuietly(bridge: string): void {
  try {
    sweepGuards(bridge);
  } catch {}
}

function inspectContainerLink(o: { netns: string; ifname: string; hostIfname: string; alias: string; bridge: string }): ContainerLinkState {
  const host = withHostNetlink((nl) => {
    const l = getLink(nl, o.hostIfname);
    if (!l) return null;
    const br = getLink(nl, o.bridge);
    return { index: l.index, up: (l.flags & IFF_UP) !== 0, onBridge: br !== null && l.master === br.index, ours: l.alias === o.alias, guarded: isGuarded(o.bridge, l.index) };
  });
  const container = inside(o.netns, (nl) => {
    const l = getLink(nl, o.ifname);
    if (!l) return null;
    const addresses = listAddrs(nl, l.index).map((a) => `${formatAddress(a.address)}/${a.prefixlen}`);
    return { mac: l.mac ? macText(l.mac) : "", mtu: l.mtu, up: (l.flags & IFF_UP) !== 0, addresses, routes: routesVia(nl, l.index) };
  });
  return { container, host };
}

/**
 * The bridge bridgeUp has just found up. An ADD checks its network's bridge (cni/network.ts
 * ensureNetwork) a moment before it makes the veth, whose master is that bridge: one RTM_GETLINK for
 * both, not two (~0.15 ms of a daemon's ADD). Taken once, and only within FRESH_MS: anything later
 * looks the bridge up again, as it did before.
 */
const FRESH_MS = 50;
let checked: { link: Link; at: number } | null = null;
function justChecked(bridge: string): Link | null {
  const c = checked;
  checked = null;
  return c && c.link.name === bridge && performance.now() - c.at < FRESH_MS ? c.link : null;
}

function bridgeUp(bridge: string, network: string): boolean {
  return withHostNetlink((nl) => {
    const l = getLink(nl, bridge);
    const up = l !== null && l.alias === aliasFor(network) && (l.flags & IFF_UP) !== 0;
    checked = up ? { link: l, at: performance.now() } : null;
    return up;
  });
}

export function createContainerLinker(): ContainerLinker {
  return { addContainerLink, removeContainerLink, inspectContainerLink, sweepGuards, bridgeUp, netnsKind, withLock: withFileLock, warm };
}
