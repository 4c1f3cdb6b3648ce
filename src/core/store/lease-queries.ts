/**
 * The store's attachment queries, with the address holds of hold-queries.ts: IPAM's LeaseTx over
 * SQLite. Store extends this and supplies the prepared statements; every method runs inside the
 * caller's transaction.
 */
import type { LeaseRow, LeaseTx } from "../ipam/lease-tx.ts";
import { leaseFromRow, type AttachmentRow } from "./rows.ts";
import { HoldQueries } from "./hold-queries.ts";
import { macTaken } from "../ipam/mac.ts";

/** ISO 8601 with milliseconds, as JavaScript's toISOString writes it. */
const ISO_OF_MS = "strftime('%Y-%m-%dT%H:%M:%fZ', expires_at / 1000.0, 'unixepoch')";
const LIVE = "state = 'active' AND (expires_at IS NULL OR expires_at > $now)";
/**
 * The rows with hostname $name (lowercase) that also meet `where`, for `LIMIT 1`: a name equal to
 * the row's id is found through (network, id), any other through attachments_named (migration 12).
 * That index is named: rows are keyed by (network, addr) (migration 11), and without statistics
 * SQLite would rather scan the network's rows in that key than use a non-unique index.
 */
const byHostname = (where: string) =>
  `SELECT * FROM attachments WHERE network = $network AND id = $name AND hostname = $name AND ${where}
   UNION ALL
   SELECT * FROM attachments INDEXED BY attachments_named WHERE network = $network AND hostname = $name AND hostname <> id AND ${where}`;

/** Positional, in LeaseRow's order: binding eleven named parameters costs an attach more than the lookup it saves. */
const INSERT_LEASE = `INSERT INTO attachments (network, id, mac, addr, address_v6, hostname, state, created_at, updated_at, expires_at, origin)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

const leaseArgs = (l: LeaseRow) => [l.network, l.id, l.mac, l.addr, l.addressV6, l.hostname, l.state, l.createdAt, l.updatedAt, l.expiresAt, l.origin] as const;

/** SQLite's error for a row that breaks attachments_active_mac ("UNIQUE constraint failed: attachments.network, attachments.mac"). */
const isMacViolation = (e: unknown) => (e as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE" && (e as Error).message.endsWith("attachments.mac");

/** How far the stored allocation cursor may lag the one a connection keeps (advanceCursor): fewer than QUICK_PROBES (pool.ts). */
const CURSOR_SLACK = 8;

export abstract class LeaseQueries extends HoldQueries implements LeaseTx {
  #lease(sql: string, ...args: Array<string | number>): LeaseRow | null {
    const row = this.stmt(sql).get(...args) as AttachmentRow | null;
    return row ? leaseFromRow(row) : null;
  }

  getLease(network: string, id: string): LeaseRow | null {
    return this.#lease("SELECT * FROM attachments WHERE network = ? AND id = ?", network, id);
  }

  leaseAt(network: string, addr: number): LeaseRow | null {
    const f = this.known();
    if (f) {
      let top = f.topAddr.get(network);
      if (top === undefined) {
        top = (this.stmt("SELECT max(addr) AS m FROM attachments WHERE network = ?").get(network) as { m: number | null }).m ?? -Infinity;
        f.topAddr.set(network, top);
      }
      if (addr > top) return null; // above every row: a walk that appends asks nothing
    }
    return this.#lease("SELECT * FROM attachments WHERE network = ? AND addr = ?", network, addr);
  }

  activeWithMac(network: string, mac: string): LeaseRow | null {
    return this.#lease("SELECT * FROM attachments WHERE network = ? AND mac = ? AND state = 'active'", network, mac);
  }

  /** The lease a MAC holds on a network: the active one, else its most recently released claim (DHCP). */
  leaseWithMac(network: string, mac: string): LeaseRow | null {
    // Two lookups, each on its partial index (migration 8): the active lease, else the newest released claim.
    return this.activeWithMac(network, mac)
      ?? this.#lease("SELECT * FROM attachments WHERE network = ? AND mac = ? AND state = 'released' ORDER BY updated_at DESC LIMIT 1", network, mac);
  }

  /**
   * The live lease (active, not ended by nowMs) with this hostname (lowercase), address or MAC, or
   * null: one index lookup, however many attachments the network has (the DNS zone asks per query).
   */
  liveLease(network: string, by: "hostname" | "addr" | "mac", value: string | number, nowMs = Date.now()): LeaseRow | null {
    const column = ({ hostname: "hostname", addr: "addr", mac: "mac" } as const)[by];
    const row = (by === "hostname"
      ? this.stmt(`${byHostname(LIVE)} LIMIT 1`).get({ network, name: value, now: nowMs })
      : this.stmt(`SELECT * FROM attachments WHERE network = $network AND ${column} = $value AND ${LIVE} LIMIT 1`).get({ network, value, now: nowMs })) as AttachmentRow | null;
    return row ? leaseFromRow(row) : null;
  }

  activeWithHostname(network: string, hostname: string, notId?: string): LeaseRow | null {
    // Stored lowercase (migration 3), so the index on (network, hostname) serves this.
    const name = hostname.toLowerCase();
    // The name is notId's own id: the row keyed by it is notId's, so only names unlike their id can hold it.
    if (name === notId && this.#unnamed(network)) return null;
    const row = (name === notId
      ? this.stmt("SELECT * FROM attachments INDEXED BY attachments_named WHERE network = ? AND hostname = ? AND hostname <> id AND state = 'active' LIMIT 1").get(network, name)
      : this.stmt(`${byHostname("state = 'active'")} LIMIT 1`).get({ network, name })) as AttachmentRow | null;
    return row ? leaseFromRow(row) : null;
  }

  /** Whether no row of the network has a hostname unlike its id (learnt once per connection; see TxFacts). */
  #unnamed(network: string): boolean {
    const f = this.known();
    if (!f) return false;
    if (f.unnamed.has(network)) return true;
    const named = this.stmt("SELECT 1 FROM attachments INDEXED BY attachments_named WHERE network = ? AND hostname <> id LIMIT 1").get(network);
    if (!named) f.unnamed.add(network);
    return !named;
  }

  /** A row is written: what this connection knows of the network's addresses and names follows it. */
  #wrote(l: LeaseRow): void {
    const top = this.facts.topAddr.get(l.network);
    if (top !== undefined && l.addr > top) this.facts.topAddr.set(l.network, l.addr);
    if (l.hostname !== l.id) this.facts.unnamed.delete(l.network);
  }

  oldestReleased(network: string, origin?: LeaseRow["origin"], within?: { first: number; last: number }): LeaseRow | null {
    const [lo, hi] = within ? [within.first, within.last] : [0, 0xffffffff]; // a pool: claims on static addresses outside it stay
    // Oldest first from the index of released claims, which stops at the first that fits; left to
    // itself SQLite sorts every row of the addr range (a full /18: 18 ms per attach).
    const oldest = "SELECT * FROM attachments INDEXED BY attachments_released WHERE network = ? AND state = 'released'";
    if (origin) return this.#lease(`${oldest} AND origin = ? AND addr BETWEEN ? AND ? ORDER BY updated_at, id LIMIT 1`, network, origin, lo, hi);
    return this.#lease(`${oldest} AND addr BETWEEN ? AND ? ORDER BY updated_at, id LIMIT 1`, network, lo, hi);
  }

  lastAllocated(network: string): number | null {
    const f = this.known();
    const known = f?.cursors.get(network);
    if (known !== undefined) return known;
    const row = this.stmt("SELECT last_allocated FROM networks WHERE name = ?").get(network) as { last_allocated: number | null } | null;
    const out = row?.last_allocated ?? null;
    if (row && f) f.cursorStored(network, out);
    return out;
  }

  /** The lowest slot number on a network (address-less leases use negative ones), or null. */
  lowestSlot(network: string): number | null {
    return (this.stmt("SELECT min(addr) AS m FROM attachments WHERE network = ?").get(network) as { m: number | null }).m;
  }

  setLastAllocated(network: string, addr: number | null): void {
    this.stmt("UPDATE networks SET last_allocated = ? WHERE name = ?").run(addr, network);
    const f = this.known();
    if (f) f.cursorStored(network, addr);
    else this.facts.forgetCursor(network);
  }

  /**
   * The walk handed out `addr`. The stored cursor is written only when it is CURSOR_SLACK or more
   * behind (or the walk wrapped): a walk from it passes the few addresses in between, all taken,
   * and finds what a walk from `addr` finds, so every connection gets the same address from the
   * same store, and most attaches write no networks page (issue #15 §4).
   */
  advanceCursor(network: string, addr: number): void {
    const f = this.known();
    const stored = f?.storedCursors.get(network);
    if (f && stored != null && f.cursors.has(network) && addr > stored && addr - stored < CURSOR_SLACK) f.cursors.set(network, addr);
    else this.setLastAllocated(network, addr);
  }

  putLease(l: LeaseRow): void {
    if (l.expiresAt !== null) this.facts.nextDue.delete(l.network); // may end before what expire last saw
    this.facts.mayFree(l.network); // the row may have moved off an address
    this.facts.active.delete(l.network); // its state may have changed
    this.#wrote(l);
    this.stmt(
      `${INSERT_LEASE}
       ON CONFLICT (network, id) DO UPDATE SET mac = excluded.mac, addr = excluded.addr, address_v6 = excluded.address_v6,
         hostname = excluded.hostname, state = excluded.state, updated_at = excluded.updated_at, expires_at = excluded.expires_at,
         origin = excluded.origin`,
    ).run(...leaseArgs(l));
  }

  /**
   * A plain INSERT (no conflict target to probe first): a row already there for the id is an error,
   * not an update. An active lease's MAC is unique by the index attachments_active_mac, so a MAC
   * another active lease has is the ConflictError naming that lease (the caller need not look first).
   */
  insertLease(l: LeaseRow): void {
    if (l.expiresAt !== null) this.facts.nextDue.delete(l.network);
    this.#wrote(l);
    try {
      this.stmt(INSERT_LEASE).run(...leaseArgs(l));
    } catch (e) {
      const holder = isMacViolation(e) && l.state === "active" ? this.activeWithMac(l.network, l.mac) : null;
      if (holder) throw macTaken(l.mac, holder);
      throw e;
    }
    const counted = this.facts.active.get(l.network);
    if (counted !== undefined && l.state === "active") this.facts.active.set(l.network, counted + 1);
  }

  deleteLease(network: string, id: string): void {
    this.facts.mayFree(network);
    this.facts.active.delete(network);
    this.stmt("DELETE FROM attachments WHERE network = ? AND id = ?").run(network, id);
  }

  /** Active leases that have not ended by nowMs (released ones too with includeReleased). */
  listLeases(network?: string, includeReleased = false, nowMs = Date.now()): LeaseRow[] {
    const where = [network ? "network = $network" : "", includeReleased ? "" : LIVE].filter(Boolean).join(" AND ");
    const sql = `SELECT * FROM attachments ${where ? `WHERE ${where}` : ""} ORDER BY network, addr`;
    const params: Record<string, string | number> = {};
    if (network) params.network = network;
    if (!includeReleased) params.now = nowMs;
    return (this.stmt(sql).all(params) as AttachmentRow[]).map(leaseFromRow);
  }

  /** Live leases per network, every network in one query (`network list`); networks with none are absent. */
  countActiveByNetwork(nowMs = Date.now()): Map<string, number> {
    const rows = this.stmt(`SELECT network, count(*) AS n FROM attachments WHERE ${LIVE} GROUP BY network`).all({ now: nowMs }) as Array<{ network: string; n: number }>;
    return new Map(rows.map((r) => [r.network, r.n]));
  }

  /**
   * Whether anything is due to end by nowMs (of one network, or any), in one read: a listing skips
   * expire's write lock when nothing is, and expire itself its two writes (most attaches).
   */
  dueToExpire(nowMs: number, network?: string): boolean {
    const where = network ? "network = $network AND " : "";
    const params: Record<string, string | number> = network ? { network, now: nowMs } : { now: nowMs };
    const row = this.stmt(
      `SELECT EXISTS (SELECT 1 FROM attachments WHERE ${where}state = 'active' AND expires_at IS NOT NULL AND expires_at <= $now)
       OR EXISTS (SELECT 1 FROM address_holds WHERE ${where}until <= $now) AS due`,
    ).get(params) as { due: number };
    return row.due === 1;
  }

  poolFull(network: string, first: number, last: number, gateway: number): boolean {
    const leases = this.stmt("SELECT count(*) AS n FROM attachments WHERE network = ? AND addr BETWEEN ? AND ?").get(network, first, last) as { n: number };
    // A hold on a leased address (a DECLINE while the claim moves) is one address, not two.
    const holds = this.stmt(
      `SELECT count(*) AS n FROM address_holds h WHERE h.network = ? AND h.addr BETWEEN ? AND ?
       AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.network = h.network AND a.addr = h.addr)`,
    ).get(network, first, last) as { n: number };
    const full = leases.n + holds.n + (gateway >= first && gateway <= last ? 1 : 0) >= last - first + 1;
    if (full) this.stayFull(network, first, last);
    return full;
  }

  knownFull(network: string, first: number, last: number): boolean {
    return this.known()?.full.get(network) === `${first}-${last}`;
  }

  stayFull(network: string, first: number, last: number): void {
    this.known()?.full.set(network, `${first}-${last}`);
  }

  countActive(network: string, nowMs = Date.now()): number {
    const f = this.known();
    const due = f?.nextDue.get(network);
    const settled = due !== undefined && nowMs < due; // no active lease ends by nowMs: live = active
    const kept = settled ? f!.active.get(network) : undefined;
    if (kept !== undefined) return kept;
    const n = (this.stmt(`SELECT count(*) AS n FROM attachments WHERE network = $network AND ${LIVE}`).get({ network, now: nowMs }) as { n: number }).n;
    if (settled) f!.active.set(network, n);
    return n;
  }

  /**
   * Ends what is due. One read says when the first lease or hold ends (and whether the network has
   * holds at all); till then, later attaches of this connection need not ask again (tx-facts.ts).
   */
  expire(network: string, nowMs: number): void {
    const f = this.known();
    const next = f?.nextDue.get(network);
    if (next !== undefined && nowMs < next) return;
    const ends = this.stmt(
      `SELECT (SELECT min(expires_at) FROM attachments WHERE network = $network AND state = 'active' AND expires_at IS NOT NULL) AS lease,
         (SELECT min(until) FROM address_holds WHERE network = $network) AS hold`,
    ).get({ network }) as { lease: number | null; hold: number | null };
    if (ends.hold === null) f?.holdless.add(network);
    const leaseDue = ends.lease !== null && ends.lease <= nowMs, holdDue = ends.hold !== null && ends.hold <= nowMs;
    if (leaseDue) {
      this.facts.active.delete(network);
      this.stmt(
        `UPDATE attachments SET state = 'released', updated_at = ${ISO_OF_MS}, expires_at = NULL
         WHERE network = ? AND state = 'active' AND expires_at IS NOT NULL AND expires_at <= ?`,
      ).run(network, nowMs);
    }
    if (holdDue) {
      this.holdsGone(network, this.stmt("DELETE FROM address_holds WHERE network = ? AND until <= ?").run(network, nowMs).changes);
      this.facts.mayFree(network);
    }
    if (leaseDue || holdDue) this.facts.nextDue.delete(network); // the next end is after these: asked again next time
    else f?.nextDue.set(network, Math.min(ends.lease ?? Infinity, ends.hold ?? Infinity));
  }
}
