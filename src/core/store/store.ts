import { Database, type Statement } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import * as v from "valibot";
import { StoreError } from "../errors.ts";
import { Network } from "../resources/network.ts";
import type { Attachment } from "../resources/attachment.ts";
import type { LeaseTx, LeaseRow } from "../ipam/allocator.ts";
import { MIGRATIONS } from "./migrations.ts";
import { networkFromRow, networkToRow, leaseFromRow, type NetworkRow, type AttachmentRow } from "./rows.ts";

/**
 * The network store: one SQLite file in WAL mode. Every change runs in one IMMEDIATE
 * transaction, so concurrent vmlan processes serialise on the write lock and a killed process
 * leaves either all of a change or none of it.
 */
export class Store implements LeaseTx {
  readonly path: string;
  #db: Database;
  #q = new Map<string, Statement>();

  constructor(path: string) {
    this.path = path;
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try {
      this.#db = new Database(path, { create: true, strict: true });
      // 10 s: 50+ processes attaching at once must queue for the write lock, not fail.
      this.#db.run("PRAGMA busy_timeout = 10000");
      this.#retryBusy(() => this.#db.run("PRAGMA journal_mode = WAL"));
      this.#db.run("PRAGMA synchronous = NORMAL");
      this.#db.run("PRAGMA foreign_keys = ON");
      this.#migrate();
    } catch (e) {
      if (e instanceof StoreError) throw e;
      throw new StoreError(`cannot open store ${path}: ${(e as Error).message}`, { cause: e });
    }
  }

  close(): void {
    for (const s of this.#q.values()) s.finalize();
    this.#q.clear();
    this.#db.close();
  }

  /** Runs fn in one IMMEDIATE transaction (takes the write lock up front: no upgrade deadlocks). */
  tx<T>(fn: () => T): T {
    try {
      return this.#db.transaction(fn).immediate();
    } catch (e) {
      if ((e as { code?: string }).code?.startsWith("SQLITE_BUSY")) {
        throw new StoreError(`store ${this.path} is busy (another vmlan holds the lock for over 10 s)`, { cause: e });
      }
      throw e;
    }
  }

  schemaVersion(): number {
    return (this.#db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
  }

  #retryBusy(fn: () => void): void {
    for (let i = 0; ; i++) {
      try {
        return fn();
      } catch (e) {
        if (i >= 50 || !(e as { code?: string }).code?.startsWith("SQLITE_BUSY")) throw e;
        Bun.sleepSync(20 + Math.random() * 30);
      }
    }
  }

  #migrate(): void {
    const target = MIGRATIONS.length;
    if (this.schemaVersion() === target) return;
    this.tx(() => {
      const current = this.schemaVersion();
      if (current > target) {
        throw new StoreError(`store ${this.path} has schema version ${current}, newer than this vmlan understands (${target}); upgrade vmlan`);
      }
      for (let i = current; i < target; i++) this.#db.run(MIGRATIONS[i]!);
      this.#db.run(`PRAGMA user_version = ${target}`);
    });
  }

  #stmt(sql: string): Statement {
    let s = this.#q.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#q.set(sql, s);
    }
    return s;
  }

  // ---- networks ----

  getNetwork(name: string): Network | null {
    const row = this.#stmt("SELECT * FROM networks WHERE name = ?").get(name) as NetworkRow | null;
    return row ? networkFromRow(row) : null;
  }

  listNetworks(): Network[] {
    return (this.#stmt("SELECT * FROM networks ORDER BY builtin DESC, name").all() as NetworkRow[]).map(networkFromRow);
  }

  networkWithBridge(bridge: string): string | null {
    const row = this.#stmt("SELECT name FROM networks WHERE bridge = ?").get(bridge) as { name: string } | null;
    return row?.name ?? null;
  }

  insertNetwork(n: Network): void {
    v.parse(Network, n);
    this.#stmt(
      `INSERT INTO networks (name, mode, subnet, gateway, subnet_v6, gateway_v6, mtu, bridge, labels, builtin, created_at, dhcp, dns_domain)
       VALUES ($name, $mode, $subnet, $gateway, $subnet_v6, $gateway_v6, $mtu, $bridge, $labels, $builtin, $created_at, $dhcp, $dns_domain)`,
    ).run(networkToRow(n));
  }

  deleteNetwork(name: string): boolean {
    return this.#stmt("DELETE FROM networks WHERE name = ?").run(name).changes > 0;
  }

  /** The backend's opaque serialization of a network (vmnet's on macOS), or null. */
  getBackend(name: string): Uint8Array | null {
    const row = this.#stmt("SELECT backend FROM networks WHERE name = ?").get(name) as { backend: Uint8Array | null } | null;
    return row?.backend ?? null;
  }

  setBackend(name: string, blob: Uint8Array | null): void {
    this.#stmt("UPDATE networks SET backend = ? WHERE name = ?").run(blob, name);
  }

  // ---- attachments (LeaseTx: called by the allocator inside tx()) ----

  getLease(network: string, id: string): LeaseRow | null {
    const row = this.#stmt("SELECT * FROM attachments WHERE network = ? AND id = ?").get(network, id) as AttachmentRow | null;
    return row ? leaseFromRow(row) : null;
  }

  leaseAt(network: string, addr: number): LeaseRow | null {
    const row = this.#stmt("SELECT * FROM attachments WHERE network = ? AND addr = ?").get(network, addr) as AttachmentRow | null;
    return row ? leaseFromRow(row) : null;
  }

  activeWithMac(network: string, mac: string): LeaseRow | null {
    const row = this.#stmt("SELECT * FROM attachments WHERE network = ? AND mac = ? AND state = 'active'").get(network, mac) as AttachmentRow | null;
    return row ? leaseFromRow(row) : null;
  }

  /** The lease a MAC holds on a network: the active one, else its most recently released claim (DHCP). */
  leaseWithMac(network: string, mac: string): LeaseRow | null {
    const row = this.#stmt("SELECT * FROM attachments WHERE network = ? AND mac = ? ORDER BY state = 'active' DESC, updated_at DESC LIMIT 1").get(network, mac) as AttachmentRow | null;
    return row ? leaseFromRow(row) : null;
  }

  activeWithHostname(network: string, hostname: string): LeaseRow | null {
    const row = this.#stmt("SELECT * FROM attachments WHERE network = ? AND hostname = ? AND state = 'active' LIMIT 1").get(network, hostname) as AttachmentRow | null;
    return row ? leaseFromRow(row) : null;
  }

  oldestReleased(network: string): LeaseRow | null {
    const row = this.#stmt("SELECT * FROM attachments WHERE network = ? AND state = 'released' ORDER BY updated_at, id LIMIT 1").get(network) as AttachmentRow | null;
    return row ? leaseFromRow(row) : null;
  }

  lastAllocated(network: string): number | null {
    const row = this.#stmt("SELECT last_allocated FROM networks WHERE name = ?").get(network) as { last_allocated: number | null } | null;
    return row?.last_allocated ?? null;
  }

  setLastAllocated(network: string, addr: number): void {
    this.#stmt("UPDATE networks SET last_allocated = ? WHERE name = ?").run(addr, network);
  }

  putLease(l: LeaseRow): void {
    this.#stmt(
      `INSERT INTO attachments (network, id, mac, addr, address_v6, hostname, state, created_at, updated_at)
       VALUES ($network, $id, $mac, $addr, $address_v6, $hostname, $state, $created_at, $updated_at)
       ON CONFLICT (network, id) DO UPDATE SET mac = excluded.mac, addr = excluded.addr, address_v6 = excluded.address_v6,
         hostname = excluded.hostname, state = excluded.state, updated_at = excluded.updated_at`,
    ).run({
      network: l.network, id: l.id, mac: l.mac, addr: l.addr, address_v6: l.addressV6, hostname: l.hostname,
      state: l.state, created_at: l.createdAt, updated_at: l.updatedAt,
    });
  }

  deleteLease(network: string, id: string): void {
    this.#stmt("DELETE FROM attachments WHERE network = ? AND id = ?").run(network, id);
  }

  listLeases(network?: string, includeReleased = false): LeaseRow[] {
    const where = [network ? "network = $network" : "", includeReleased ? "" : "state = 'active'"].filter(Boolean).join(" AND ");
    const sql = `SELECT * FROM attachments ${where ? `WHERE ${where}` : ""} ORDER BY network, addr`;
    const rows = (network ? this.#stmt(sql).all({ network }) : this.#stmt(sql).all()) as AttachmentRow[];
    return rows.map(leaseFromRow);
  }

  countActive(network: string): number {
    return (this.#stmt("SELECT count(*) AS n FROM attachments WHERE network = ? AND state = 'active'").get(network) as { n: number }).n;
  }
}

export type { Attachment };
