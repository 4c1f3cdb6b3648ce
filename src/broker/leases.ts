/**
 * IPAM through the broker: `attach`/`detach` for clients that cannot write the store (a permitted
 * non-root user's `vmlan helper --broker`). The broker's LeaseService does the work; this table
 * remembers which connection attached what, so a client may only detach its own leases and a
 * client that dies without `keep` has its leases released, like a helper that exits.
 */
import { LeaseService } from "../core/leases.ts";
import { NotFoundError } from "../core/errors.ts";
import type { Store } from "../core/store/store.ts";
import type { BrokerLease } from "./protocol.ts";
import type { Owner } from "../core/resources/attachment.ts";
import type { OwnerPolicy } from "../core/owners.ts";

interface Held { network: string; id: string; keep: boolean }

export class BrokerLeases {
  readonly #svc: LeaseService;
  readonly #byClient = new Map<number, Held[]>();

  readonly #owner: Owner | undefined;

  constructor(store: Store, readonly log: (m: string) => void, owners?: { self: Owner; policy: OwnerPolicy }) {
    this.#svc = new LeaseService(store, undefined, owners?.policy);
    this.#owner = owners?.self;
  }

  /** Whether `client` attached this lease through this connection. */
  has(client: number, network: string, id: string): boolean {
    return (this.#byClient.get(client) ?? []).some((h) => h.network === network && h.id === id);
  }

  attach(client: number, req: { network: string; interfaceId: string; mac?: string; keep?: boolean; allowSpoofing?: boolean }): BrokerLease {
    const owner = req.keep ? undefined : this.#owner; // a dead broker's leases are orphans; kept ones are the client's
    const { attachment: a } = this.#svc.attach({
      network: req.network, id: req.interfaceId, owner, allowSpoofing: req.allowSpoofing, ...(req.mac !== undefined ? { mac: req.mac } : {}),
    });
    const list = this.#byClient.get(client) ?? [];
    const mine = list.find((h) => h.network === a.network && h.id === a.id);
    if (mine) mine.keep = req.keep ?? false;
    else list.push({ network: a.network, id: a.id, keep: req.keep ?? false });
    this.#byClient.set(client, list);
    return { id: a.id, network: a.network, mac: a.mac, address: a.address, prefixLength: a.prefixLength, gateway: a.gateway, addressV6: a.addressV6, hostname: a.hostname, mtu: a.mtu };
  }

  /** Detaches a lease this client attached; someone else's is refused as not found. */
  detach(client: number, network: string, id: string): void {
    const list = this.#byClient.get(client) ?? [];
    const i = list.findIndex((h) => h.network === network && h.id === id);
    if (i < 0) throw new NotFoundError(`this client attached no "${id}" on "${network}"`);
    list.splice(i, 1);
    if (list.length === 0) this.#byClient.delete(client);
    this.#svc.detach(network, id, { ifExists: true });
  }

  /** The lease service behind the broker's IPAM (the ports' followers move leases to learned MACs). */
  get service(): LeaseService {
    return this.#svc;
  }

  /** The attachment `client` attached last on `network`, if any: the lease its TAP is guarded for. */
  heldOn(client: number, network: string): string | undefined {
    return (this.#byClient.get(client) ?? []).filter((h) => h.network === network).at(-1)?.id;
  }

  /** The client went away: its leases without `keep` are released. */
  disconnect(client: number): string[] {
    const list = this.#byClient.get(client) ?? [];
    this.#byClient.delete(client);
    const released: string[] = [];
    for (const h of list) {
      if (h.keep) continue;
      try {
        this.#svc.detach(h.network, h.id, { ifExists: true });
        released.push(`${h.network}/${h.id}`);
      } catch (e) {
        this.log(`releasing lease ${h.network}/${h.id} failed: ${(e as Error).message}`);
      }
    }
    return released;
  }
}
