import type { Network } from "../resources/network.ts";

/**
 * What this connection has learnt about a network's rows, so an attach reads each fact once and
 * not in every transaction: the network itself, its allocation cursor (networks.last_allocated),
 * when its first DHCP lease or address hold ends, and whether it has any hold at all (most have
 * none; then no attach looks one up or deletes offers). Store keeps them only while nothing else can have changed those rows: it
 * forgets everything when another connection committed since (PRAGMA data_version, checked as
 * each transaction begins), when one of its own transactions or savepoints is undone, and when a
 * network is deleted. They are used inside a transaction only (the write lock makes them ours).
 */
export class TxFacts {
  /** The validated network, by name. */
  readonly networks = new Map<string, Network>();
  /** last_allocated per network, as read or written. */
  readonly cursors = new Map<string, number | null>();
  /** Networks seen to have no address hold (putHold takes a network out). */
  readonly holdless = new Set<string>();
  /** When the first DHCP lease or hold of a network ends (ms; Infinity: none); a write that may end sooner drops it. */
  readonly nextDue = new Map<string, number>();

  forget(): void {
    this.networks.clear();
    this.cursors.clear();
    this.holdless.clear();
    this.nextDue.clear();
  }
}
