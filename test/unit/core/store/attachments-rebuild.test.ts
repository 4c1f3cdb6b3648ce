// Migration 11 rebuilds attachments WITHOUT ROWID: a store made by schema 10, with rows in every
// table that hangs off attachments, comes out with the same rows and the same foreign keys.
import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store } from "../../../../src/core/store/store.ts";
import { LeaseService } from "../../../../src/core/leases.ts";
import { MIGRATIONS } from "../../../../src/core/store/migrations.ts";

const dir = mkdtempSync(join(tmpdir(), "vmlan-rebuild-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NOW = "2026-01-01T00:00:00.000Z";
const TABLES = ["networks", "attachments", "container_attachments", "attachment_owners", "published_ports", "address_holds"];

/** A store as vmlan with 10 migrations left it: two networks, leases of every kind, and their children. */
function schema10(path: string): void {
  const db = new Database(path, { create: true, strict: true });
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA foreign_keys = ON");
  for (const m of MIGRATIONS.slice(0, 10)) db.run(m);
  db.run("PRAGMA user_version = 10");
  const net = db.prepare(`INSERT INTO networks (name, mode, subnet, gateway, mtu, bridge, labels, created_at, last_allocated) VALUES (?, 'shared', ?, ?, 1500, ?, '{}', ?, ?)`);
  net.run("a", "10.1.0.0/24", "10.1.0.1", "vmlan-a", NOW, 167837702);
  net.run("b", "10.2.0.0/24", "10.2.0.1", "vmlan-b", NOW, null);
  const lease = db.prepare(`INSERT INTO attachments (network, id, mac, addr, address_v6, hostname, state, created_at, updated_at, expires_at, origin, allow_spoofing)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  lease.run("a", "vm1", "52:54:00:00:00:01", 167837698, "fd00::1", "vm1", "active", NOW, NOW, null, "attach", 1);
  lease.run("a", "vm2", "52:54:00:00:00:02", 167837699, null, "vm2", "released", NOW, NOW, null, "attach", 0);
  lease.run("a", "mac-525400000003", "52:54:00:00:00:03", 167837700, null, "phone", "active", NOW, NOW, 1_900_000_000_000, "dhcp", 0);
  lease.run("a", "ctr", "52:54:00:00:00:04", 167837701, null, "ctr", "active", NOW, NOW, null, "attach", 0);
  lease.run("b", "vm1", "52:54:00:00:00:05", 167903234, null, "vm1", "active", NOW, NOW, null, "attach", 0);
  db.run(`INSERT INTO container_attachments VALUES ('a', 'ctr', 'c0ffee', 'eth0', 'main', '/run/netns/x', 'veth1', ?)`, [NOW]);
  db.run(`INSERT INTO attachment_owners VALUES ('a', 'vm1', 4242, '123456', '/run/vm1.sock')`);
  db.run(`INSERT INTO attachment_owners VALUES ('b', 'vm1', 4343, '654321', NULL)`);
  db.run(`INSERT INTO published_ports VALUES ('a', 'vm1', 'tcp', '127.0.0.1', 8080, 8081, 80, ?)`, [NOW]);
  db.run(`INSERT INTO address_holds VALUES ('a', 167837704, '52:54:00:00:00:09', 'offer', 1900000000000, 1)`);
  db.close();
}

function dump(path: string): Record<string, unknown[]> {
  const db = new Database(path, { readonly: true });
  const out = Object.fromEntries(TABLES.map((t) => [t, db.query(`SELECT * FROM ${t} ORDER BY 1, 2`).all()]));
  db.close();
  return out;
}

test("schema 10's rows, foreign keys and trigger survive the WITHOUT ROWID rebuild", () => {
  const path = join(dir, "v10.db");
  schema10(path);
  const before = dump(path);
  const store = new Store(path, () => {});
  expect(store.schemaVersion()).toBe(MIGRATIONS.length);
  store.close();
  expect(dump(path)).toEqual(before);

  const db = new Database(path, { strict: true });
  db.run("PRAGMA foreign_keys = ON");
  expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
  expect(db.query("PRAGMA foreign_key_check").all()).toEqual([]);
  expect((db.query("SELECT sql FROM sqlite_schema WHERE name = 'attachments'").get() as { sql: string }).sql).toContain("WITHOUT ROWID");
  expect(db.query("SELECT name FROM sqlite_schema WHERE name LIKE 'm11_%' OR name = 'attachments_new'").all()).toEqual([]);
  // The trigger: a released attachment loses its owner.
  db.run("UPDATE attachments SET state = 'released' WHERE network = 'b' AND id = 'vm1'");
  expect(db.query("SELECT id FROM attachment_owners WHERE network = 'b'").all()).toEqual([]);
  // The foreign keys: a deleted attachment takes its ports and owner, a deleted network everything.
  db.run("DELETE FROM attachments WHERE network = 'a' AND id = 'vm1'");
  expect(db.query("SELECT count(*) AS n FROM published_ports").get()).toEqual({ n: 0 });
  expect(db.query("SELECT count(*) AS n FROM attachment_owners").get()).toEqual({ n: 0 });
  db.run("DELETE FROM networks WHERE name = 'a'");
  expect(db.query("SELECT count(*) AS n FROM container_attachments").get()).toEqual({ n: 0 });
  expect(db.query("SELECT network, id FROM attachments").all()).toEqual([{ network: "b", id: "vm1" }]);
  expect(() => db.run(`INSERT INTO attachment_owners VALUES ('b', 'nobody', 1, '1', NULL)`)).toThrow(/FOREIGN KEY/);
  db.close();
});

test("after the rebuild a released claim is sticky and two ids never share an address", () => {
  const path = join(dir, "sticky.db");
  schema10(path);
  const store = new Store(path, () => {});
  const leases = new LeaseService(store, () => NOW);
  // vm2's released claim keeps 10.1.0.3; a new id takes the next never-used address after the cursor (10.1.0.6).
  expect(leases.attach({ network: "a", id: "vm2" }).attachment.address).toBe("10.1.0.3");
  expect(leases.attach({ network: "a", id: "new" }).attachment.address).toBe("10.1.0.7");
  expect(() => leases.attach({ network: "a", id: "other", ip: "10.1.0.2" })).toThrow(/taken by id "vm1"/);
  store.close();
});

test("a hostname is found, and kept unique, whether it is the attachment's id or not (migration 12)", () => {
  const path = join(dir, "names.db");
  schema10(path);
  const store = new Store(path, () => {});
  const leases = new LeaseService(store, () => NOW);
  // From schema 10: "vm1" is its own id's name, "phone" is not (id mac-525400000003).
  expect(store.liveLease("a", "hostname", "vm1", 0)?.id).toBe("vm1");
  expect(store.liveLease("a", "hostname", "phone", 0)?.id).toBe("mac-525400000003");
  expect(store.activeWithHostname("a", "PHONE")?.id).toBe("mac-525400000003");
  expect(() => leases.attach({ network: "a", id: "x", hostname: "vm1" })).toThrow(/hostname "vm1" is already used by id "vm1"/);
  expect(() => leases.attach({ network: "a", id: "y", hostname: "phone" })).toThrow(/hostname "phone" is already used by id "mac-525400000003"/);
  // An id whose own name another attachment has gets a suffixed one; an upper-case id's name is not its id.
  expect(leases.attach({ network: "a", id: "phone" }).attachment.hostname).toMatch(/^phone-[0-9a-f]{4}$/);
  expect(leases.attach({ network: "a", id: "Web" }).attachment.hostname).toBe("web");
  expect(store.liveLease("a", "hostname", "web", 0)?.id).toBe("Web");
  expect(leases.attach({ network: "a", id: "web" }).attachment.hostname).toMatch(/^web-[0-9a-f]{4}$/);
  // A released attachment's name is free again, through either index.
  leases.detach("a", "vm1");
  leases.detach("a", "Web");
  expect(store.activeWithHostname("a", "vm1")).toBeNull();
  expect(store.activeWithHostname("a", "web")).toBeNull();
  expect(leases.attach({ network: "a", id: "z", hostname: "vm1" }).attachment.hostname).toBe("vm1");
  store.close();
});

test("a new store is made with 2 KiB pages; one made with SQLite's 4 KiB keeps them", () => {
  const pageSize = (p: string) => {
    const db = new Database(p, { readonly: true });
    const out = (db.query("PRAGMA page_size").get() as { page_size: number }).page_size;
    db.close();
    return out;
  };
  const fresh = join(dir, "fresh.db");
  new Store(fresh, () => {}).close();
  expect(pageSize(fresh)).toBe(2048);
  const old = join(dir, "old.db");
  schema10(old);
  const store = new Store(old, () => {});
  expect(new LeaseService(store, () => NOW).attach({ network: "b", id: "more" }).attachment.address).toBe("10.2.0.3");
  store.close();
  expect(pageSize(old)).toBe(4096);
});
