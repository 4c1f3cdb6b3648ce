/**
 * The store's address-hold queries (offers and declined addresses: lease-tx.ts Hold), and what the
 * attachment queries build on: the prepared statements and what this connection knows of networks'
 * rows (tx-facts.ts). Every method runs inside the caller's transaction.
 */
import type { Statement } from "bun:sqlite";
import type { Hold } from "../ipam/lease-tx.ts";
import { holdFromRow, type HoldRow } from "./rows.ts";
import { TxFacts } from "./tx-facts.ts";

export abstract class HoldQueries {
  protected abstract stmt(sql: string): Statement;
  /** What this connection knows of networks' rows (tx-facts.ts); Store decides when it is forgotten. */
  protected readonly facts = new TxFacts();
  /** Whether a transaction is open: only then are `facts` used or learnt. */
  protected abstract inTx(): boolean;

  /** The facts, inside a transaction; null outside one. */
  protected known(): TxFacts | null {
    return this.inTx() ? this.facts : null;
  }

  protected hold(sql: string, ...args: Array<string | number>): Hold | null {
    const row = this.stmt(sql).get(...args) as HoldRow | null;
    return row ? holdFromRow(row) : null;
  }

  holdAt(network: string, addr: number): Hold | null {
    if (this.known()?.holdless.has(network)) return null;
    return this.hold("SELECT * FROM address_holds WHERE network = ? AND addr = ?", network, addr);
  }

  offerFor(network: string, mac: string): Hold | null {
    if (this.known()?.holdless.has(network)) return null;
    return this.hold("SELECT * FROM address_holds WHERE network = ? AND mac = ? AND reason = 'offer' ORDER BY created_at DESC LIMIT 1", network, mac);
  }

  oldestHold(network: string, reason: Hold["reason"]): Hold | null {
    if (this.known()?.holdless.has(network)) return null;
    return this.hold("SELECT * FROM address_holds WHERE network = ? AND reason = ? ORDER BY created_at, addr LIMIT 1", network, reason);
  }

  countHolds(network: string, reason?: Hold["reason"]): number {
    if (reason) return (this.stmt("SELECT count(*) AS n FROM address_holds WHERE network = ? AND reason = ?").get(network, reason) as { n: number }).n;
    const f = this.known();
    const kept = f?.holds.get(network);
    if (kept !== undefined) return kept;
    const n = (this.stmt("SELECT count(*) AS n FROM address_holds WHERE network = ?").get(network) as { n: number }).n;
    f?.holds.set(network, n);
    return n;
  }

  putHold(h: Hold): void {
    this.facts.holdless.delete(h.network);
    this.facts.nextDue.delete(h.network);
    const counted = this.facts.holds.get(h.network);
    const isNew = counted !== undefined && !this.stmt("SELECT 1 FROM address_holds WHERE network = ? AND addr = ?").get(h.network, h.addr);
    this.stmt(
      `INSERT INTO address_holds (network, addr, mac, reason, until, created_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (network, addr) DO UPDATE SET mac = excluded.mac, reason = excluded.reason, until = excluded.until, created_at = excluded.created_at`,
    ).run(h.network, h.addr, h.mac, h.reason, h.until, h.createdAt);
    if (isNew && counted !== undefined) this.facts.holds.set(h.network, counted + 1);
  }

  deleteHold(network: string, addr: number): void {
    this.facts.mayFree(network);
    this.holdsGone(network, this.stmt("DELETE FROM address_holds WHERE network = ? AND addr = ?").run(network, addr).changes);
  }

  /** `n` of the network's holds were deleted: a count this connection keeps follows. */
  protected holdsGone(network: string, n: number): void {
    const counted = this.facts.holds.get(network);
    if (counted !== undefined && n > 0) this.facts.holds.set(network, counted - n);
  }

  deleteOffersTo(network: string, mac: string): void {
    if (this.known()?.holdless.has(network)) return;
    const gone = this.stmt("DELETE FROM address_holds WHERE network = ? AND mac = ? AND reason = 'offer'").run(network, mac).changes;
    if (gone > 0) this.facts.mayFree(network);
    this.holdsGone(network, gone);
  }

}
