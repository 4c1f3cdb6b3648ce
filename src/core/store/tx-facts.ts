/**
 * What the open transaction has learnt about a network's rows, so an attach reads each fact once:
 * its allocation cursor (networks.last_allocated) and whether it has any address hold at all (most
 * networks have none, and then no attach needs to look one up or delete offers). The write lock
 * makes those rows ours until the transaction ends; Store forgets everything then, and when a
 * savepoint is undone (what it wrote, or deleted, is back).
 */
export class TxFacts {
  /** last_allocated per network, as read or written in this transaction. */
  readonly cursors = new Map<string, number | null>();
  /** Networks seen to have no address hold in this transaction (putHold takes a network out). */
  readonly holdless = new Set<string>();

  forget(): void {
    this.cursors.clear();
    this.holdless.clear();
  }
}
