/**
 * Which stored ports are in effect, worked out from the store alone (pure over its rows): a port is
 * `active` when its attachment is active and no port that became active before it claims the same
 * host port; `conflict` when one did (it names the holder); `inactive` while its attachment is
 * released or its network cannot publish. Host ports are one host-wide resource, so the winners are
 * chosen over every network at once; the kernel rules of one network are its share of them.
 */
import type { Store } from "../store/store.ts";
import type { LeaseRow } from "../ipam/lease-tx.ts";
import { intToV4 } from "../ipam/subnet.ts";
import { hasAddress } from "../ipam/allocator.ts";
import type { Network } from "../resources/network.ts";
import type { PublishedPort } from "../resources/port.ts";
import { familyOf, formatPortSpec, overlaps, type PortSpec } from "./spec.ts";

export type PortState = "active" | "inactive" | "conflict";

export interface PortView extends PublishedPort {
  /** canonical spec: 127.0.0.1:8080:80/tcp */
  spec: string;
  /** where the host port leads: the attachment's IPv4 or IPv6 address (by the host address's family) */
  guestAddress: string | null;
  state: PortState;
  /** why it is not active (inactive, conflict), for people */
  detail: string | null;
}

/** A rule the platform installs: a host port range and the guest address and first port it leads to. */
export interface PortRule extends PortSpec {
  guestAddress: string;
}

/** Networks whose mode can publish ports; bridged guests are hosts of the LAN at their own address. */
export const publishes = (n: Pick<Network, "mode">): boolean => n.mode === "shared" || n.mode === "host";

const live = (l: LeaseRow | null, nowMs: number): l is LeaseRow =>
  l !== null && l.state === "active" && (l.expiresAt === null || l.expiresAt > nowMs);

const holderText = (p: PublishedPort): string => `"${p.id}" on "${p.network}" (${formatPortSpec(p)})`;

/** Every stored port with its state; `ports` narrows to these rows (all stored ports are still weighed). */
export function portViews(store: Store, nowMs = Date.now()): PortView[] {
  const all = store.ports.list();
  const nets = new Map(store.listNetworks().map((n) => [n.name, n]));
  const leases = new Map<string, LeaseRow | null>();
  const leaseOf = (p: PublishedPort) => {
    const key = `${p.network}/${p.id}`;
    if (!leases.has(key)) leases.set(key, store.getLease(p.network, p.id));
    return leases.get(key)!;
  };
  const views = all.map((p): PortView => {
    const lease = leaseOf(p);
    const guestAddress = !lease ? null : familyOf(p.hostIp) === 6 ? lease.addressV6 : hasAddress(lease) ? intToV4(lease.addr) : null;
    const base = { ...p, spec: formatPortSpec(p), guestAddress };
    const net = nets.get(p.network);
    if (net && !publishes(net)) return { ...base, state: "inactive", detail: `network "${p.network}" is ${net.mode}: guests are reached at their own address` };
    if (!live(lease, nowMs)) return { ...base, state: "inactive", detail: `"${p.id}" is not attached` };
    if (!guestAddress) return { ...base, state: "inactive", detail: `"${p.id}" has no IPv6 address (network "${p.network}" has no IPv6 prefix)` };
    return { ...base, state: "active", detail: null };
  });
  // First come, first served: the attachment active the longest keeps a contested port.
  const order = views.map((v, i) => i).filter((i) => views[i]!.state === "active").sort((a, b) => {
    const [x, y] = [views[a]!, views[b]!];
    return leaseOf(x)!.updatedAt.localeCompare(leaseOf(y)!.updatedAt) || x.createdAt.localeCompare(y.createdAt) || a - b;
  });
  const won: PortView[] = [];
  for (const i of order) {
    const v = views[i]!;
    const holder = won.find((w) => overlaps(w, v));
    if (holder) views[i] = { ...v, state: "conflict", detail: `host port held by ${holderText(holder)}` };
    else won.push(v);
  }
  return views;
}

/** The kernel rules of one network: its active ports. */
export function rulesOf(views: PortView[], network: string): PortRule[] {
  return views.filter((v) => v.network === network && v.state === "active").map((v) => ({
    hostIp: v.hostIp, hostPort: v.hostPort, hostEnd: v.hostEnd, guestPort: v.guestPort, proto: v.proto, guestAddress: v.guestAddress!,
  }));
}

/**
 * The first in-effect port of another attachment that `spec` would collide with, or null. Used
 * before a port is stored (port add, run -p, vm run -p, apply), so a conflict is refused up front.
 */
export function activeHolder(views: PortView[], network: string, id: string, spec: PortSpec): PortView | null {
  return views.find((v) => v.state === "active" && !(v.network === network && v.id === id) && overlaps(v, spec)) ?? null;
}

export const describeHolder = holderText;
