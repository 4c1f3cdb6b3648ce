/**
 * Who holds which network, and when an unused network is torn down. Pure: no sockets, no
 * platform; timers come from the `clock` passed in, so tests drive time by hand.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface RegistryHooks {
  /** Called when the first holder arrives and the network is not up (bring up the host side). */
  up(network: string): Promise<void> | void;
  /** Called when the idle time after the last release has passed (tear the host side down). */
  down(network: string): void;
}

interface Entry {
  holders: Map<number, number>; // client id → number of acquires
  up: boolean;
  idleTimer: unknown | null;
  idleSince: number | null;
}

export class Registry {
  #nets = new Map<string, Entry>();
  #lastActivity: number;

  constructor(readonly idleMs: number, readonly hooks: RegistryHooks, readonly clock: Clock) {
    this.#lastActivity = clock.now();
  }

  /** Adds a hold of `client` on `network` (counted: two acquires need two releases or a disconnect). */
  async acquire(network: string, client: number): Promise<void> {
    let e = this.#nets.get(network);
    if (!e) {
      e = { holders: new Map(), up: false, idleTimer: null, idleSince: null };
      this.#nets.set(network, e);
    }
    if (e.idleTimer !== null) this.clock.clearTimeout(e.idleTimer);
    e.idleTimer = null;
    e.idleSince = null;
    if (!e.up) {
      await this.hooks.up(network); // may throw: then nothing is recorded
      e.up = true;
    }
    e.holders.set(client, (e.holders.get(client) ?? 0) + 1);
    this.#lastActivity = this.clock.now();
  }

  /**
   * Records a network that is up with nobody holding it (adopted from a previous broker, or kept
   * after an idle check found the bridge still in use): it idles out like any released network.
   */
  adopt(network: string): void {
    if (this.#nets.has(network)) return;
    const e: Entry = { holders: new Map(), up: true, idleTimer: null, idleSince: null };
    this.#nets.set(network, e);
    this.#maybeIdle(network, e);
  }

  /** Drops one hold; returns false when the client held none. */
  release(network: string, client: number): boolean {
    const e = this.#nets.get(network);
    const n = e?.holders.get(client) ?? 0;
    if (!e || n === 0) return false;
    if (n > 1) e.holders.set(client, n - 1);
    else e.holders.delete(client);
    this.#maybeIdle(network, e);
    return true;
  }

  /** A client went away (closed or crashed): all its holds go. */
  disconnect(client: number): string[] {
    const dropped: string[] = [];
    for (const [name, e] of this.#nets) {
      if (e.holders.delete(client)) {
        dropped.push(name);
        this.#maybeIdle(name, e);
      }
    }
    this.#lastActivity = this.clock.now();
    return dropped;
  }

  #maybeIdle(network: string, e: Entry): void {
    this.#lastActivity = this.clock.now();
    if (e.holders.size > 0 || !e.up) return;
    e.idleSince = this.clock.now();
    e.idleTimer = this.clock.setTimeout(() => {
      e.idleTimer = null;
      e.idleSince = null;
      if (e.holders.size > 0) return;
      e.up = false;
      this.#nets.delete(network);
      this.#lastActivity = this.clock.now(); // "idle" for exit purposes starts when the last network went down
      this.hooks.down(network);
    }, this.idleMs);
  }

  holders(network: string): number[] {
    return [...(this.#nets.get(network)?.holders.keys() ?? [])];
  }

  totalHolds(): number {
    let n = 0;
    for (const e of this.#nets.values()) n += e.holders.size;
    return n;
  }

  /** ms since nothing was held and nothing happened, or 0 while anything is held or up. */
  idleFor(): number {
    for (const e of this.#nets.values()) if (e.holders.size > 0 || e.up) return 0;
    return this.clock.now() - this.#lastActivity;
  }

  snapshot(): { network: string; holders: number[]; up: boolean; teardownInMs: number | null }[] {
    return [...this.#nets].map(([network, e]) => ({
      network, holders: [...e.holders.keys()], up: e.up,
      teardownInMs: e.idleSince === null ? null : Math.max(0, e.idleSince + this.idleMs - this.clock.now()),
    }));
  }

  /** Tears everything down now (broker shutdown). */
  shutdown(): void {
    for (const [name, e] of this.#nets) {
      if (e.idleTimer !== null) this.clock.clearTimeout(e.idleTimer);
      if (e.up) this.hooks.down(name);
    }
    this.#nets.clear();
  }
}
