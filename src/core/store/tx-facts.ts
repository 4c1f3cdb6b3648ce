import type { Network } from "../resources/network.ts";

/**
 * What this connection has learnt about a network's rows, so an attach reads each fact once and
 * not in every transaction: the network itself, its allocation cursor (networks.last_allocated),
 * when its first DHCP lease or address hold ends, whether it has any hold at all (most have
 * none; then no attach looks one up or deletes offers), the highest address a row has, and whether
 * every hostname is its row's id. Store keeps them only while nothing else can have changed those rows: it
 * forgets everything when another connection committed since (PRAGMA data_version, checked as
 * each transaction begins), when one of its own transactions or savepoints is undone, and when a
 * network is deleted. They are used inside a transaction only (the write lock makes them ours).
 */
export class TxFacts {
  /** The validated network, by name. */
  readonly networks = new Map<string, Network>();
  /**
   * The allocation cursor per network: the address handed out last. It may be ahead of the stored
   * networks.last_allocated (`storedCursors`), by less than CURSOR_SLACK addresses that were all taken
   * when the walk passed them (LeaseQueries.advanceCursor); a write that may free an address
   * (a lease or hold deleted, a lease moved) drops it, and the walk starts from the stored one again.
   */
  readonly cursors = new Map<string, number | null>();
  /** networks.last_allocated per network, as read or written. */
  readonly storedCursors = new Map<string, number | null>();
  /** Networks seen to have no address hold (putHold takes a network out). */
  readonly holdless = new Set<string>();
  /** When the first DHCP lease or hold of a network ends (ms; Infinity: none); a write that may end sooner drops it. */
  readonly nextDue = new Map<string, number>();
  /**
   * An address no row of the network is above (its highest, or less; a row written raises it): a walk
   * past it needs no lookup to know that no lease has an address (holds are asked apart).
   */
  readonly topAddr = new Map<string, number>();
  /** Networks seen to have no hostname unlike its row's id (attachments_named has none of their rows). */
  readonly unnamed = new Set<string>();
  /**
   * Networks whose pool ("first-last") was seen with no free address: an attach takes a claim at
   * once, without a walk or a count over every row (16k claims: 2 ms per attach); a write that may
   * free an address drops it (mayFree).
   */
  readonly full = new Map<string, string>();
  /**
   * Live leases per network as counted (a DHCP stranger's reserve check, on every DISCOVER: 40k
   * leases, 4.5 ms each), while nothing is due (nextDue): this connection's inserts add to it, any
   * other write to a lease drops it.
   */
  readonly active = new Map<string, number>();
  /** Address holds per network as counted (the same check), following this connection's own puts and deletes. */
  readonly holds = new Map<string, number>();

  /** networks.last_allocated of `network` was read or written as `addr`: the cursor is that too. */
  cursorStored(network: string, addr: number | null): void {
    this.cursors.set(network, addr);
    this.storedCursors.set(network, addr);
  }

  forgetCursor(network: string): void {
    this.cursors.delete(network);
    this.storedCursors.delete(network);
  }

  /** An address of `network` may have become free (a row deleted or moved, a hold gone): walks start from the stored cursor. */
  mayFree(network: string): void {
    this.full.delete(network);
    const stored = this.storedCursors.get(network);
    if (stored === undefined) this.cursors.delete(network);
    else this.cursors.set(network, stored);
  }

  forget(): void {
    this.networks.clear();
    this.cursors.clear();
    this.storedCursors.clear();
    this.holdless.clear();
    this.nextDue.clear();
    this.topAddr.clear();
    this.unnamed.clear();
    this.full.clear();
    this.active.clear();
    this.holds.clear();
  }
}
