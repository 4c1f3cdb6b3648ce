/**
 * Containers' attachments (the CNI plugin's IPAM): an ordinary sticky lease whose id is derived
 * from the runtime's (container id, interface name), plus a record of who holds it. The same
 * container re-added (podman restart keeps its id) gets the same address and MAC back.
 */
import { ConflictError, NotFoundError } from "./errors.ts";
import { allocate, release, toAttachment } from "./ipam/allocator.ts";
import type { Attachment } from "./resources/attachment.ts";
import type { ContainerAttachment } from "./resources/container.ts";
import { hostnameFor } from "./resources/names.ts";
import type { Network } from "./resources/network.ts";
import type { Store } from "./store/store.ts";

export interface ContainerKey { containerId: string; ifname: string }

/**
 * The ifname as the id's last part: as it is when made of interface-id characters, else "@" and its
 * bytes in hex. A kernel name may hold almost any byte ("eth+1", "é"), an id may not (the store
 * refuses to read one back); no plain part starts with "@", so two names never share an id.
 */
function ifnamePart(ifname: string): string {
  return /^[a-zA-Z0-9_.-][a-zA-Z0-9_.@-]*$/.test(ifname) ? ifname : `@${Buffer.from(ifname).toString("hex")}`;
}

/** Interface ids are at most 128 bytes: "cni:" + container id + ":" + ifname part, long ids shortened with a hash. */
export function attachmentIdFor(k: ContainerKey): string {
  const part = ifnamePart(k.ifname);
  const plain = `cni:${k.containerId}:${part}`;
  if (plain.length <= 128) return plain;
  const h = Bun.hash.wyhash(k.containerId).toString(16).padStart(16, "0");
  // 90 as before encoded parts existed (an ifname is at most 15 bytes); an encoded one (up to 31) takes its room.
  return `cni:${k.containerId.slice(0, Math.min(90, 106 - part.length))}-${h}:${part}`;
}

/** The host end of a container's veth: "vlc" + 12 hex of the attachment id (15 bytes, IFNAMSIZ - 1). */
export function hostIfnameFor(network: string, id: string): string {
  return `vlc${Bun.hash.wyhash(`${network}\0${id}`).toString(16).padStart(16, "0").slice(-12)}`;
}

/** Alias on the host end: marks it as ours and names the attachment, for people reading `ip link`. */
export const hostAliasFor = (network: string, id: string) => `vmlan-cni:${network}:${id}`;

export interface ContainerAttach {
  role: "main" | "ipam";
  /** Wanted DNS name (K8S_POD_NAME, ...); reduced to a host label, suffixed when another holds it. */
  name?: string;
  ip?: string;
  mac?: string;
  netns: string | null;
  hostIfname: string | null;
  /** The config's `allowSpoofing`: its port gets no anti-spoofing rules (stored with the attachment). */
  allowSpoofing?: boolean;
}

export class ContainerService {
  constructor(readonly store: Store, readonly now: () => string = () => new Date().toISOString()) {}

  network(name: string): Network {
    const n = this.store.getNetwork(name);
    if (!n) throw new NotFoundError(`no network named "${name}"`);
    return n;
  }

  attach(network: string, k: ContainerKey, o: ContainerAttach): { attachment: Attachment; created: boolean } {
    const id = attachmentIdFor(k);
    return this.store.tx(() => {
      const net = this.network(network);
      const hostname = o.name ? this.#freeName(net, id, hostnameFor(o.name)) : this.#freeName(net, id, hostnameFor(`c-${k.containerId.slice(0, 12)}`));
      const existing = this.store.getLease(net.name, id);
      // An active lease with another hostname is this container's own earlier ADD: keep its name.
      const { lease, created } = allocate(this.store, net, { id, hostname: existing?.state === "active" ? existing.hostname : hostname, ip: o.ip, mac: o.mac }, this.now());
      this.store.putContainer({ network: net.name, id, containerId: k.containerId, ifname: k.ifname, role: o.role, netns: o.netns, hostIfname: o.hostIfname, createdAt: this.now() });
      if (o.allowSpoofing !== undefined) this.store.spoofing.setAllowSpoofing(net.name, id, o.allowSpoofing);
      return { attachment: { ...toAttachment(net, lease), allowSpoofing: this.store.spoofing.allowSpoofing(net.name, id) }, created };
    });
  }

  /** The active attachment of a container on a network, or null. */
  get(network: string, k: ContainerKey): { attachment: Attachment; record: ContainerAttachment } | null {
    const net = this.store.getNetwork(network);
    if (!net) return null;
    const id = attachmentIdFor(k);
    const l = this.store.getLease(network, id);
    const record = this.store.listContainers(network).find((c) => c.id === id);
    if (!l || l.state !== "active" || !record) return null;
    return { attachment: { ...toAttachment(net, l), allowSpoofing: this.store.spoofing.allowSpoofing(network, id) }, record };
  }

  /**
   * What a container's port was guarded with, from its active lease: `pinned` its MAC, or null when
   * it allows spoofing (no rules). null when there is no active lease (DEL then looks the rules up).
   */
  portOf(network: string, k: ContainerKey): { pinned: string | null } | null {
    const id = attachmentIdFor(k);
    const l = this.store.getLease(network, id);
    if (!l || l.state !== "active") return null;
    return { pinned: this.store.spoofing.allowSpoofing(network, id) ? null : l.mac };
  }

  /** Releases a container's lease; an unknown network, container or lease is fine (DEL is idempotent). */
  release(network: string, k: ContainerKey): Attachment | null {
    return this.store.tx(() => {
      const net = this.store.getNetwork(network);
      if (!net) return null;
      const l = this.store.getLease(network, attachmentIdFor(k));
      if (!l || l.state !== "active") return null;
      return toAttachment(net, release(this.store, net, l.id, this.now()));
    });
  }

  /** Active container attachments on `network` (of `role`) whose container is not in `valid` (GC). */
  stale(network: string, valid: ContainerKey[], role: "main" | "ipam"): ContainerAttachment[] {
    if (!this.store.getNetwork(network)) return [];
    const keep = new Set(valid.map((k) => attachmentIdFor(k)));
    const active = new Set(this.store.listLeases(network, false, Date.parse(this.now())).map((l) => l.id));
    return this.store.listContainers(network).filter((c) => c.role === role && active.has(c.id) && !keep.has(c.id));
  }

  /** Every container record, keyed "network/id" (the `attachments` listing). */
  records(): Map<string, ContainerAttachment> {
    return new Map(this.store.listContainers().map((c) => [`${c.network}/${c.id}`, c]));
  }

  #freeName(net: Network, id: string, base: string): string {
    const holder = this.store.activeWithHostname(net.name, base);
    if (!holder || holder.id === id) return base;
    const alt = `${base.slice(0, 58)}-${Bun.hash.wyhash(id).toString(16).slice(-4)}`;
    const again = this.store.activeWithHostname(net.name, alt);
    if (again && again.id !== id) throw new ConflictError(`hostname "${base}" and "${alt}" are both taken on "${net.name}"`);
    return alt;
  }
}
