import { Database, type Statement } from "bun:sqlite";
import { dirname } from "node:path";
import * as v from "valibot";
import { StoreError } from "../errors.ts";
import { Network } from "../resources/network.ts";
import type { Attachment } from "../resources/attachment.ts";
import { ContainerAttachment } from "../resources/container.ts";
import { MIGRATIONS } from "./migrations.ts";
import { createPrivate, privateDir, privateFiles, stderrNote, type Note } from "./private.ts";
import { networkFromRow, networkToRow, type NetworkRow } from "./rows.ts";
import { LeaseQueries } from "./lease-queries.ts";
import { OwnerQueries } from "./owner-queries.ts";
import { PortQueries } from "./port-queries.ts";
import { SpoofingQueries } from "./spoofing-queries.ts";

/**
 * WAL bytes between automatic checkpoints (SQLite's default is 1,000 pages, 4 MiB at 4 KiB pages).
 * A checkpoint syncs the WAL and the database file inside the commit that crosses the mark; a
 * burst of small transactions (10,000 attaches, a DHCP storm) paid for one every ~150 commits, most
 * of its time. 16 MiB of WAL at most, and SQLite deletes it when the last connection closes (every
 * CLI command's exit).
 */
const WAL_CHECKPOINT_BYTES = 16 << 20;

/**
 * Page size of a new store. A commit writes every page it touched, whole, into the WAL (and syncs
 * them at the next checkpoint); an attach touches five b-trees with rows of ~150 bytes, so 2 KiB
 * pages write and sync half of what SQLite's 4 KiB default does, for twice as many pages to read
 * in a listing. An existing store keeps its page size (changing it means a VACUUM out of WAL mode).
 */
const PAGE_BYTES = 2048;

/**
 * Page cache per connection, in KiB (SQLite's default is 2,000). 10,000 attachments on one network
 * are 1,000 pages of 2 KiB, about what the default holds; an attach touches a leaf of each of four
 * b-trees, the MAC index's at random, so past that every attach reads pages back through the WAL
 * index. Pages are cached as they are read: a short command holds only the few it touched.
 */
const CACHE_KIB = 8192;

/**
 * The network store: one SQLite file in WAL mode. Every change runs in one IMMEDIATE
 * transaction, so concurrent vmlan processes serialise on the write lock and a killed process
 * leaves either all of a change or none of it. Attachment and address-hold queries (IPAM's
 * LeaseTx) live in lease-queries.ts.
 */
export class Store extends LeaseQueries {
  readonly path: string;
  /** Published ports (port-queries.ts). */
  readonly ports: PortQueries;
  #db: Database;
  #q = new Map<string, Statement>();
  /** Transactions open on this connection: 0 outside, 1 in a tx, more in savepoints inside it. */
  #depth = 0;
  /** PRAGMA data_version when `facts` were last known current (it changes when another connection commits). */
  #dataVersion: number | null = null;
  /** Who holds which active attachment (owner-queries.ts). */
  readonly owners = new OwnerQueries((sql) => this.stmt(sql));
  /** Per-attachment opt-out of anti-spoofing (spoofing-queries.ts). */
  readonly spoofing = new SpoofingQueries((sql) => this.stmt(sql));

  /** `note` gets the line saying a state dir or store that was too open has been closed. */
  constructor(path: string, note: Note = stderrNote) {
    super();
    this.path = path;
    this.ports = new PortQueries((sql) => this.stmt(sql));
    const file = path !== ":memory:";
    if (file) privateDir(dirname(path), note);
    const fresh = file && createPrivate(path);
    try {
      this.#db = new Database(path, { create: true, strict: true });
      // 0600 before the WAL and shared-memory files exist: SQLite creates them with this file's mode.
      if (file) privateFiles([path, `${path}-wal`, `${path}-shm`], note, fresh);
      // 10 s: 50+ processes attaching at once must queue for the write lock, not fail.
      this.#db.run("PRAGMA busy_timeout = 10000");
      // Before anything is written (ignored by a store that exists: its pages stay as they are).
      if (fresh) this.#db.run(`PRAGMA page_size = ${PAGE_BYTES}`);
      this.#retryBusy(() => this.#db.run("PRAGMA journal_mode = WAL"));
      this.#db.run("PRAGMA synchronous = NORMAL");
      const { page_size } = this.#db.query("PRAGMA page_size").get() as { page_size: number };
      this.#db.run(`PRAGMA wal_autocheckpoint = ${Math.floor(WAL_CHECKPOINT_BYTES / page_size)}`);
      this.#db.run(`PRAGMA cache_size = -${CACHE_KIB}`);
      this.#db.run("PRAGMA foreign_keys = ON");
      // Savepoints (a tx inside a tx, attachMany's per request) journal in memory, not in a temp file.
      this.#db.run("PRAGMA temp_store = MEMORY");
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

  /**
   * Runs fn in one IMMEDIATE transaction (takes the write lock up front: no upgrade deadlocks); a tx
   * inside a tx is a savepoint, undone alone when its fn throws. Prepared statements, not
   * bun:sqlite's transaction(), which builds a wrapper per call (a tenth of a small attach).
   */
  tx<T>(fn: () => T): T {
    if (this.#depth > 0) return this.#savepoint(fn);
    try {
      this.stmt("BEGIN IMMEDIATE").run();
    } catch (e) {
      if ((e as { code?: string }).code?.startsWith("SQLITE_BUSY")) {
        throw new StoreError(`store ${this.path} is busy (another vmlan holds the lock for over 10 s)`, { cause: e });
      }
      throw e;
    }
    this.#depth++;
    try {
      // Another connection committed since this one last looked: what it knew may be stale.
      const version = (this.stmt("PRAGMA data_version").get() as { data_version: number }).data_version;
      if (version !== this.#dataVersion) {
        this.facts.forget();
        this.#dataVersion = version;
      }
      const out = fn();
      this.stmt("COMMIT").run();
      return out;
    } catch (e) {
      this.facts.forget(); // what this transaction wrote is gone (or never was)
      if (this.#db.inTransaction) this.stmt("ROLLBACK").run();
      throw e;
    } finally {
      this.#depth--;
    }
  }

  #savepoint<T>(fn: () => T): T {
    const name = `sp${this.#depth}`;
    this.stmt(`SAVEPOINT ${name}`).run();
    this.#depth++;
    try {
      const out = fn();
      this.stmt(`RELEASE ${name}`).run();
      return out;
    } catch (e) {
      this.stmt(`ROLLBACK TO ${name}`).run();
      this.stmt(`RELEASE ${name}`).run();
      this.facts.forget(); // what the savepoint wrote (or deleted) is back as it was
      throw e;
    } finally {
      this.#depth--;
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

  protected inTx(): boolean {
    return this.#depth > 0;
  }

  protected stmt(sql: string): Statement {
    let s = this.#q.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#q.set(sql, s);
    }
    return s;
  }

  // ---- networks ----

  getNetwork(name: string): Network | null {
    const f = this.known();
    const hit = f?.networks.get(name);
    if (hit) return hit;
    const row = this.stmt("SELECT * FROM networks WHERE name = ?").get(name) as (NetworkRow & { last_allocated: number | null }) | null;
    if (!row) return null;
    const network = networkFromRow(row);
    if (f) {
      f.networks.set(name, network);
      if (!f.cursors.has(name)) f.cursorStored(name, row.last_allocated);
    }
    return network;
  }

  listNetworks(): Network[] {
    return (this.stmt("SELECT * FROM networks ORDER BY builtin DESC, name").all() as NetworkRow[]).map(networkFromRow);
  }

  networkWithBridge(bridge: string): string | null {
    const row = this.stmt("SELECT name FROM networks WHERE bridge = ?").get(bridge) as { name: string } | null;
    return row?.name ?? null;
  }

  insertNetwork(n: Network): void {
    v.parse(Network, n);
    this.facts.networks.delete(n.name);
    this.facts.forgetCursor(n.name);
    this.stmt(
      `INSERT INTO networks (name, mode, subnet, gateway, subnet_v6, gateway_v6, mtu, bridge, labels, builtin, created_at, dhcp, dns_domain, uplink, pool_start, pool_end)
       VALUES ($name, $mode, $subnet, $gateway, $subnet_v6, $gateway_v6, $mtu, $bridge, $labels, $builtin, $created_at, $dhcp, $dns_domain, $uplink, $pool_start, $pool_end)`,
    ).run(networkToRow(n));
  }

  deleteNetwork(name: string): boolean {
    this.facts.forget();
    return this.stmt("DELETE FROM networks WHERE name = ?").run(name).changes > 0;
  }

  /** The backend's opaque serialization of a network (vmnet's on macOS), or null. */
  getBackend(name: string): Uint8Array | null {
    const row = this.stmt("SELECT backend FROM networks WHERE name = ?").get(name) as { backend: Uint8Array | null } | null;
    return row?.backend ?? null;
  }

  setBackend(name: string, blob: Uint8Array | null): void {
    this.stmt("UPDATE networks SET backend = ? WHERE name = ?").run(blob, name);
  }

  // ---- container attachments (CNI) ----

  putContainer(c: ContainerAttachment): void {
    this.stmt(
      `INSERT OR REPLACE INTO container_attachments (network, id, container_id, ifname, role, netns, host_ifname, created_at)
       VALUES ($network, $id, $container_id, $ifname, $role, $netns, $host_ifname, $created_at)`,
    ).run({ network: c.network, id: c.id, container_id: c.containerId, ifname: c.ifname, role: c.role, netns: c.netns, host_ifname: c.hostIfname, created_at: c.createdAt });
  }

  /** Container attachments of a network (all networks when omitted), validated on the way out. */
  listContainers(network?: string): ContainerAttachment[] {
    const rows = (network
      ? this.stmt("SELECT * FROM container_attachments WHERE network = ? ORDER BY id").all(network)
      : this.stmt("SELECT * FROM container_attachments ORDER BY network, id").all()) as Record<string, string | null>[];
    return rows.map((r) => {
      const out = v.safeParse(ContainerAttachment, {
        network: r.network, id: r.id, containerId: r.container_id, ifname: r.ifname, role: r.role, netns: r.netns, hostIfname: r.host_ifname, createdAt: r.created_at,
      });
      if (!out.success) throw new StoreError(`stored container attachment "${r.id}" on "${r.network}" is invalid: ${out.issues[0].message}`);
      return out.output;
    });
  }

  /** Bridged networks: what was moved from the uplink to the bridge and not given back (JSON text), or null. */
  getUplinkMoved(name: string): string | null {
    const row = this.stmt("SELECT uplink_moved FROM networks WHERE name = ?").get(name) as { uplink_moved: string | null } | null;
    return row?.uplink_moved ?? null;
  }

  setUplinkMoved(name: string, json: string | null): void {
    this.stmt("UPDATE networks SET uplink_moved = ? WHERE name = ?").run(json, name);
  }
}

export type { Attachment };
