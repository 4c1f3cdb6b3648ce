/** The per-network service settings in the store (migration 2): dhcp, dns_domain; defaults, diff, upgrade of a v1 store. */
import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store } from "../../../src/core/store/store.ts";
import { MIGRATIONS } from "../../../src/core/store/migrations.ts";
import { configDiff, parseRequest } from "../../../src/core/network-config.ts";
import { dnsDomainOf } from "../../../src/core/resources/network.ts";
import { addNetwork, services } from "../../support/memory.ts";

const dir = mkdtempSync(join(tmpdir(), "vmlan-settings-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("defaults: DHCP on, domain <name>.vmlan; explicit values are stored and read back", () => {
  const { store } = services();
  const a = addNetwork(store, "Lab", "10.1.0.0/24");
  addNetwork(store, "corp", "10.2.0.0/24", { dhcp: false, dnsDomain: "corp.example" });
  expect(store.getNetwork("Lab")).toMatchObject({ dhcp: true, dnsDomain: null });
  expect(dnsDomainOf(a)).toBe("lab.vmlan");
  const corp = store.getNetwork("corp")!;
  expect(corp).toMatchObject({ dhcp: false, dnsDomain: "corp.example" });
  expect(dnsDomainOf(corp)).toBe("corp.example");
  expect(store.schemaVersion()).toBe(MIGRATIONS.length);
});

test("an invalid domain is refused with a message naming it", () => {
  expect(() => parseRequest({ name: "x", dnsDomain: "Bad_Domain." })).toThrow(/invalid DNS domain "Bad_Domain\."/);
});

test("configDiff compares dhcp and domain like mtu: absent means the default", () => {
  const { store } = services();
  const n = addNetwork(store, "n", "10.3.0.0/24", { dhcp: false });
  expect(configDiff(n, parseRequest({ name: "n", dhcp: false }))).toEqual([]);
  expect(configDiff(n, parseRequest({ name: "n" }))).toEqual(["dhcp: false -> true"]);
  expect(configDiff(n, parseRequest({ name: "n", dhcp: false, dnsDomain: "n.example" }))).toEqual(["dns-domain: default -> n.example"]);
});

test("a store written by schema 1 is upgraded: its networks get DHCP on and the default domain", () => {
  const path = join(dir, "v1.db");
  const db = new Database(path, { create: true });
  db.run(MIGRATIONS[0]!);
  db.run("PRAGMA user_version = 1");
  db.run(`INSERT INTO networks (name, mode, subnet, gateway, mtu, bridge, labels, builtin, created_at) VALUES ('old', 'shared', '10.4.0.0/24', '10.4.0.1', 1500, 'vl-old', '{}', 0, 'then')`);
  db.close();
  const store = new Store(path);
  expect(store.getNetwork("old")).toMatchObject({ dhcp: true, dnsDomain: null });
  expect(store.leaseWithMac("old", "02:00:00:00:00:01")).toBeNull();
  store.close();
});
