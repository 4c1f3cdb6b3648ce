/**
 * The lease follows the port (issue #12 item 2). A port's MAC is the first source MAC it sees (the
 * kernel learns it, port-guard.ts); when a VM ignores the MAC vmlan announced (a QEMU guest without
 * `mac=`, a vfkit or socket_vmnet client that picks its own), that MAC becomes the lease's, so DHCP
 * and DNS agree with what the port lets through. A learned MAC that another attachment already
 * holds is not taken over: the port is pinned to the lease's own MAC, and the VM's frames stay out.
 * Ports without an attachment of their own (the switch's) get their lease from DHCP: the IPv4 and
 * IPv6 checks start once the learned MAC has an active lease.
 */
import { ConflictError } from "./errors.ts";
import { addressV6For } from "./ipam/ipv6.ts";
import { intToV4, parseSubnetV4, parseSubnetV6 } from "./ipam/subnet.ts";
import { poolOf } from "./ipam/addressing.ts";
import type { Network } from "./resources/network.ts";
import type { LeaseService } from "./leases.ts";
import type { Attachment } from "./resources/attachment.ts";
import type { PortGuard, PortIdentity } from "../platform/types.ts";

/**
 * How often a port is asked for its learned MAC (each ask reads the kernel's set: a short `nft`
 * run): every 250 ms for the first 5 s (a booting VM's first frame), every 1 s up to 60 s, then
 * every 5 s (an idle client). Once the MAC is pinned nothing is read from the kernel any more.
 */
const POLLS: Array<[untilMs: number, everyMs: number]> = [[5_000, 250], [60_000, 1_000], [Infinity, 5_000]];

/** Parsed on first use (a BigInt parse; not on a helper's way to its start line). */
let linkLocal: ReturnType<typeof parseSubnetV6> | null = null;

/**
 * The identity of a port whose attachment is `a`: MAC learned (or pinned), lease = a's (EUI-64
 * link-local + a's IPv6). On a bridged network vmlan assigns no address (the LAN's DHCP server does),
 * so only the MAC is checked there.
 */
export function portIdentity(
  a: Pick<Attachment, "mac" | "address" | "addressV6">,
  o: { pinned?: boolean; allowSpoofing?: boolean; staticSpace?: string[] } = {},
): PortIdentity {
  const ipv6 = [addressV6For((linkLocal ??= parseSubnetV6("fe80::/64")), a.mac), ...(a.addressV6 ? [a.addressV6] : [])];
  const lease = a.address === null ? null : { mac: a.mac, ipv4: a.address, ipv6, static: o.staticSpace ?? [] };
  return { mac: o.pinned ? a.mac : null, lease, allowSpoofing: o.allowSpoofing };
}

/**
 * The part of a network's subnet that vmlan does not hand out (a pool narrower than the subnet, as
 * vmnet-helper's --start-address/--end-address make: "the rest stays free for static addresses"),
 * as nft ranges without the gateway. A guest may also send from there: vmlan does not manage those
 * addresses, so it cannot tell whose they are. Empty for a network whose pool is its whole subnet.
 */
export function staticSpace(net: Pick<Network, "subnet" | "gateway" | "poolStart" | "poolEnd">): string[] {
  if (net.poolStart === null && net.poolEnd === null) return [];
  const s = parseSubnetV4(net.subnet);
  const { first, last, gateway } = poolOf(net);
  const out: string[] = [];
  const add = (lo: number, hi: number) => {
    for (const [a, b] of gateway >= lo && gateway <= hi ? [[lo, gateway - 1], [gateway + 1, hi]] : [[lo, hi]]) {
      if (a! <= b!) out.push(a === b ? intToV4(a!) : `${intToV4(a!)}-${intToV4(b!)}`);
    }
  };
  add(s.base + 1, first - 1);
  add(last + 1, s.base + s.size - 2);
  return out;
}

/** The identity of the port of attachment `a` on its network (looked up for its static space). */
export function attachmentIdentity(leases: LeaseService, a: Attachment, o: { pinned?: boolean } = {}): PortIdentity {
  const net = leases.store.getNetwork(a.network);
  return portIdentity(a, { ...o, allowSpoofing: a.allowSpoofing, staticSpace: net ? staticSpace(net) : [] });
}

export interface FollowOptions {
  network: string;
  /** The port's attachment; absent: the lease is whatever DHCP gave the learned MAC. */
  id?: string;
  leases: LeaseService;
  log: (line: string) => void;
  now?: () => number;
}

/** Starts following; stop() ends it (the port's owner calls it when the port goes). */
export function followPort(guard: PortGuard, o: FollowOptions): { stop(): void; tick(): void } {
  const began = (o.now ?? Date.now)();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let settled = false;
  let last = "";
  const tick = () => {
    const mac = guard.mac();
    if (!mac) return;
    if (o.id !== undefined) {
      settled = followAttachment(guard, mac, o.network, o.id, o);
      return;
    }
    const lease = o.leases.list(o.network).find((l) => l.mac === mac) ?? null;
    const identity: PortIdentity = lease ? { ...attachmentIdentity(o.leases, lease, { pinned: true }), mac } : { mac, lease: null };
    const key = JSON.stringify(identity);
    if (key !== last) guard.update(identity);
    last = key;
  };
  const schedule = () => {
    if (settled) return;
    const age = (o.now ?? Date.now)() - began;
    const every = POLLS.find(([until]) => age < until)![1];
    timer = setTimeout(() => {
      try {
        tick();
      } catch (e) {
        o.log(`port ${guard.ifname}: ${(e as Error).message}`);
      }
      schedule();
    }, every);
    timer.unref?.();
  };
  schedule();
  return { stop: () => { settled = true; clearTimeout(timer); }, tick };
}

/** One look at an attachment's port; returns true once the port's MAC is settled (pinned). */
function followAttachment(guard: PortGuard, mac: string, network: string, id: string, o: FollowOptions): boolean {
  let a = o.leases.get(network, id);
  if (a.mac !== mac) {
    try {
      a = o.leases.followMac(network, id, mac);
      o.log(`port ${guard.ifname}: the VM uses MAC ${mac}; attachment "${id}" follows it`);
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
      o.log(`port ${guard.ifname}: the VM sent from MAC ${mac}, which is not its own (${e.message}); pinned to ${a.mac}`);
    }
  }
  guard.update(attachmentIdentity(o.leases, a, { pinned: true }));
  return true;
}
