import * as v from "valibot";
import { ConflictError, NotFoundError, UsageError, VmlanError } from "./errors.ts";
import { issueText } from "./issues.ts";
import { AttachRequest, type Attachment, type Owner } from "./resources/attachment.ts";
import { POOL_FULL } from "./ipam/pool.ts";
import { macTaken, parseMac } from "./ipam/mac.ts";
import { addressV6For } from "./ipam/ipv6.ts";
import { parseSubnetV6 } from "./ipam/subnet.ts";
import { OWNERS_ALWAYS_ALIVE, checkClaim, releaseOrphans, type OwnerPolicy } from "./owners.ts";
import type { OwnedAttachment } from "./store/owner-queries.ts";
import type { Store } from "./store/store.ts";
import { allocate, release, toAttachment, type LeaseRow } from "./ipam/allocator.ts";
import type { Network } from "./resources/network.ts";

/** Attach/detach: IPAM over the store, one transaction per change. No host objects are touched. */
export class LeaseService {
  constructor(
    readonly store: Store,
    readonly now: () => string = () => new Date().toISOString(),
    /** How to tell a live owner from a dead one (owners.ts); the CLI passes src/process's. */
    readonly owners: OwnerPolicy = OWNERS_ALWAYS_ALIVE,
  ) {}

  #network(name: string): Network {
    const n = this.store.getNetwork(name);
    if (!n) throw new NotFoundError(`no network named "${name}"`);
    return n;
  }

  /**
   * `undo` puts the store back as this attach found it (a new row is deleted, a re-activated claim
   * released again), for a command that fails after attaching; it does nothing once the row changed.
   */
  attach(input: unknown): { attachment: Attachment; created: boolean; undo(): void } {
    const parsed = v.safeParse(AttachRequest, input);
    if (!parsed.success) throw new UsageError(issueText(parsed.issues[0]));
    const req = parsed.output;
    try {
      return this.#attach(req);
    } catch (e) {
      // A full pool may be full of orphans: release them and try once more.
      if (!(e instanceof ConflictError && e.code === POOL_FULL) || this.releaseOrphans(req.network).length === 0) throw e;
      return this.#attach(req);
    }
  }

  /**
   * attach for many requests in one transaction (apply's reservations): each is checked and
   * allocated exactly as one attach would be, in a savepoint of its own, so a failure undoes only
   * that request; with stopAtError the ones after it are not attempted (null). One commit for all:
   * 10,000 reservations cost one transaction's durability, not 10,000.
   */
  attachMany(inputs: unknown[], o: { stopAtError?: boolean } = {}): Array<{ attachment: Attachment; created: boolean } | { error: VmlanError } | null> {
    const out: Array<{ attachment: Attachment; created: boolean } | { error: VmlanError } | null> = [];
    this.store.tx(() => {
      let stopped = false;
      for (const input of inputs) {
        if (stopped) {
          out.push(null);
          continue;
        }
        try {
          const { attachment, created } = this.attach(input);
          out.push({ attachment, created });
        } catch (e) {
          if (!(e instanceof VmlanError)) throw e;
          out.push({ error: e });
          stopped = o.stopAtError === true;
        }
      }
    });
    return out;
  }

  #attach(req: v.InferOutput<typeof AttachRequest>): { attachment: Attachment; created: boolean; undo(): void } {
    return this.store.tx(() => {
      const now = this.now();
      const net = this.#network(req.network);
      // What was due has ended before `before` is read: undo restores a state expiry would not change.
      this.store.expire(net.name, Date.parse(now));
      const before = this.store.getLease(net.name, req.id);
      if (req.owner && before?.state === "active") checkClaim(this.store, this.owners, net.name, req.id, req.owner);
      const lastBefore = this.store.lastAllocated(net.name);
      const { lease, created } = allocate(this.store, net, req, now, { existing: before });
      if (req.owner) this.store.owners.set(net.name, lease.id, req.owner);
      if (req.allowSpoofing !== undefined) this.store.spoofing.setAllowSpoofing(net.name, lease.id, req.allowSpoofing);
      const undo = () => { if (created) this.#undo(lease, before, lastBefore); };
      // A row this attach made has the column's default; one that existed keeps its own (read it).
      const allowSpoofing = req.allowSpoofing ?? (before ? undefined : false);
      return { attachment: this.#view(net, lease, allowSpoofing), created, undo };
    });
  }

  /** What users see of a lease: the attachment and its port settings (read unless the caller knows them). */
  #view(net: Network, l: LeaseRow, allowSpoofing = this.store.spoofing.allowSpoofing(l.network, l.id)): Attachment {
    return { ...toAttachment(net, l), allowSpoofing };
  }

  /**
   * The lease follows its port (issue #12 item 2): the VM uses `mac`, not the one vmlan gave it, so
   * that becomes the lease's MAC (and the EUI-64 IPv6 address with it). Refused (ConflictError) when
   * another active attachment has that MAC: a guest never takes a neighbour's.
   */
  followMac(network: string, id: string, mac: string): Attachment {
    return this.store.tx(() => {
      const net = this.#network(network);
      const l = this.store.getLease(network, id);
      if (!l || l.state !== "active") throw new NotFoundError(`no attachment "${id}" on network "${network}"`);
      const want = parseMac(mac);
      if (want === l.mac) return this.#view(net, l);
      const holder = this.store.activeWithMac(network, want);
      if (holder && holder.id !== id) throw macTaken(want, holder);
      const moved: LeaseRow = { ...l, mac: want, addressV6: net.subnetV6 ? addressV6For(parseSubnetV6(net.subnetV6), want) : null, updatedAt: this.now() };
      this.store.putLease(moved);
      return this.#view(net, moved);
    });
  }

  /** Hands an active attachment to another process (a detached VM's QEMU), or to nobody (null). */
  setOwner(network: string, id: string, owner: Owner | null): void {
    this.store.tx(() => {
      if (this.store.getLease(network, id)?.state !== "active") throw new NotFoundError(`no attachment "${id}" on network "${network}"`);
      if (owner) this.store.owners.set(network, id, owner);
      else this.store.owners.delete(network, id);
    });
  }

  /** Releases the attachments (of one network, or all) whose owning process is gone (owners.ts). */
  releaseOrphans(network?: string): OwnedAttachment[] {
    return releaseOrphans(this.store, this.owners, this.now, network);
  }

  #undo(made: LeaseRow, before: LeaseRow | null, lastBefore: number | null): void {
    this.store.tx(() => {
      const now = this.store.getLease(made.network, made.id);
      if (!now || now.state !== made.state || now.updatedAt !== made.updatedAt || now.addr !== made.addr) return;
      if (before) this.store.putLease(before);
      else this.store.deleteLease(made.network, made.id);
      if (!before && this.store.lastAllocated(made.network) === made.addr) this.store.setLastAllocated(made.network, lastBefore);
    });
  }

  detach(network: string, id: string, opts: { ifExists?: boolean } = {}): Attachment | null {
    return this.store.tx(() => {
      const net = this.#network(network);
      try {
        return toAttachment(net, release(this.store, net, id, this.now()));
      } catch (e) {
        if (opts.ifExists && e instanceof NotFoundError) return null;
        throw e;
      }
    });
  }

  /**
   * Ends what is due (DHCP leases not renewed, holds), so a read shows what allocation would see.
   * Most reads find nothing due and take no write lock (a listing stays a read).
   */
  #expire(networks: string[], all = false): void {
    const nowMs = Date.parse(this.now());
    if (!this.store.dueToExpire(nowMs, all ? undefined : networks[0])) return;
    this.store.tx(() => { for (const n of networks) this.store.expire(n, nowMs); });
  }

  get(network: string, id: string): Attachment {
    const net = this.#network(network);
    this.#expire([network]);
    const l = this.store.getLease(network, id);
    if (!l || l.state !== "active") throw new NotFoundError(`no attachment "${id}" on network "${network}"`);
    return this.#view(net, l);
  }

  list(network?: string, includeReleased = false): Attachment[] {
    const nets = new Map<string, Network>(network ? [[network, this.#network(network)]] : this.store.listNetworks().map((n) => [n.name, n]));
    this.#expire([...nets.keys()], !network);
    const rows = this.store.listLeases(network, includeReleased, Date.parse(this.now()));
    const allowed = this.store.spoofing.allowedIn(network);
    return rows.map((l) => {
      let net = nets.get(l.network);
      if (!net) {
        net = this.#network(l.network);
        nets.set(l.network, net);
      }
      return this.#view(net, l, allowed.has(`${l.network}\0${l.id}`));
    });
  }
}
