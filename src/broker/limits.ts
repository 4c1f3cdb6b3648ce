/**
 * What one user (a peer uid) may hold in the broker at once. Every connection costs the broker a
 * file descriptor and every TAP a kernel device, so a permitted but hostile or buggy client could
 * otherwise open connections up to the broker's fd limit (and make accept fail for everyone) or
 * hang hundreds of TAPs on a bridge. The numbers leave room for real use: one connection, one TAP
 * and one lease per VM NIC, and a single user running dozens of VMs.
 */
export interface BrokerLimits {
  /** Open connections per uid. 128: 110 VM NICs of one user in the broker tests, with room. */
  connectionsPerUser: number;
  /** TAPs held per connection: vmnet-broker's MAX_PEER_NETWORKS (8 networks per peer). */
  tapsPerConnection: number;
  /** TAPs held per uid, over all its connections. */
  tapsPerUser: number;
  /** Leases attached through the broker per connection (a helper needs one). */
  leasesPerConnection: number;
  /** Leases attached through the broker per uid: a quarter of a /24's 253 addresses. */
  leasesPerUser: number;
}

export const DEFAULT_LIMITS: BrokerLimits = {
  connectionsPerUser: 128,
  tapsPerConnection: 8,
  tapsPerUser: 64,
  leasesPerConnection: 8,
  leasesPerUser: 64,
};

/** Counts per connection, summed per uid on demand (a few hundred entries at most). */
export class Usage {
  readonly #uidOf = new Map<number, number>();
  readonly #count = new Map<number, number>();

  connect(client: number, uid: number): void {
    this.#uidOf.set(client, uid);
  }

  disconnect(client: number): void {
    this.#uidOf.delete(client);
    this.#count.delete(client);
  }

  of(client: number): number {
    return this.#count.get(client) ?? 0;
  }

  ofUser(uid: number): number {
    let n = 0;
    for (const [client, u] of this.#uidOf) if (u === uid) n += this.#count.get(client) ?? 0;
    return n;
  }

  add(client: number, delta: number): void {
    const n = Math.max(0, this.of(client) + delta);
    if (n === 0) this.#count.delete(client);
    else this.#count.set(client, n);
  }

  /** The reason `client` (of `uid`) may not take one more, or null. */
  refusal(client: number, what: string, perConnection: number, perUser: number): string | null {
    const uid = this.#uidOf.get(client);
    if (this.of(client) >= perConnection) return `this connection already holds ${this.of(client)} ${what} (the limit is ${perConnection} per connection)`;
    if (uid !== undefined && this.ofUser(uid) >= perUser) return `uid ${uid} already holds ${this.ofUser(uid)} ${what} (the limit is ${perUser} per user)`;
    return null;
  }
}
