// What a connection learns once (a network, its cursor, that it has no address hold) must follow
// its own writes and be forgotten when a savepoint is undone or another connection commits.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { Store } from "../../../../src/core/store/store.ts";
import { LeaseService } from "../../../../src/core/leases.ts";
import { offer } from "../../../../src/core/ipam/dhcp.ts";
import { v4ToInt } from "../../../../src/core/ipam/subnet.ts";
import { addNetwork, memoryStore } from "../../../support/memory.ts";

const NOW = Date.parse("2030-01-01T00:00:00Z");
const MAC = "02:ee:00:00:00:01";

test("an offer made after the network was seen without holds is found in the same transaction", () => {
  const store = memoryStore();
  const net = addNetwork(store, "lab", "10.7.0.0/24");
  store.tx(() => {
    store.expire("lab", NOW); // no holds yet
    const made = offer(store, net, MAC, NOW);
    if (!made.ok) throw new Error(made.reason);
    expect(store.holdAt("lab", made.addr)).toMatchObject({ mac: MAC, reason: "offer" });
    expect(store.offerFor("lab", MAC)?.addr).toBe(made.addr);
    // The attach in the same transaction does not take the offered address.
    const a = new LeaseService(store, () => new Date(NOW).toISOString()).attach({ network: "lab", id: "vm" }).attachment;
    expect(a.address).not.toBe(`10.7.0.${made.addr & 255}`);
  });
});

test("an undone savepoint takes back what it learnt: a hold it deleted, a cursor it moved", () => {
  const store = memoryStore();
  addNetwork(store, "lab", "10.7.0.0/24");
  const held = v4ToInt("10.7.0.9");
  store.tx(() => {
    store.putHold({ network: "lab", addr: held, mac: MAC, reason: "declined", until: NOW + 600_000, createdAt: NOW });
    store.setLastAllocated("lab", v4ToInt("10.7.0.5"));
    expect(() => store.tx(() => {
      store.deleteHold("lab", held);
      store.expire("lab", NOW); // sees no holds now
      store.setLastAllocated("lab", v4ToInt("10.7.0.6"));
      throw new Error("undo this savepoint");
    })).toThrow("undo this savepoint");
    expect(store.holdAt("lab", held)).toMatchObject({ reason: "declined" });
    expect(store.lastAllocated("lab")).toBe(v4ToInt("10.7.0.5"));
  });
  expect(store.lastAllocated("lab")).toBe(v4ToInt("10.7.0.5"));
});

test("a cursor written outside a transaction is what the next transaction reads", () => {
  const store = memoryStore();
  addNetwork(store, "lab", "10.7.0.0/24");
  const leases = new LeaseService(store, () => new Date(NOW).toISOString());
  expect(leases.attach({ network: "lab", id: "a" }).attachment.address).toBe("10.7.0.2");
  store.setLastAllocated("lab", v4ToInt("10.7.0.40"));
  expect(leases.attach({ network: "lab", id: "b" }).attachment.address).toBe("10.7.0.41");
});

test("what one connection knows of a network is forgotten when another connection changes it", () => {
  const dir = mkdtempSync(join(tmpdir(), "vmlan-facts-"));
  try {
    const path = join(dir, "vmlan.db");
    const a = new Store(path, () => {}), b = new Store(path, () => {});
    addNetwork(a, "n", "10.1.0.0/24");
    const leasesA = new LeaseService(a), leasesB = new LeaseService(b);
    expect(leasesA.attach({ network: "n", id: "one" }).attachment.address).toBe("10.1.0.2");
    // Another process moves the cursor, then replaces the network with one on another subnet.
    expect(leasesB.attach({ network: "n", id: "two" }).attachment.address).toBe("10.1.0.3");
    expect(leasesA.attach({ network: "n", id: "three" }).attachment.address).toBe("10.1.0.4");
    b.tx(() => b.deleteNetwork("n"));
    addNetwork(b, "n", "10.2.0.0/24");
    expect(leasesA.attach({ network: "n", id: "four" }).attachment.address).toBe("10.2.0.2");
    // And a transaction of its own that fails leaves nothing behind it believes.
    expect(() => a.tx(() => { a.setLastAllocated("n", v4ToInt("10.2.0.99")); throw new Error("undo"); })).toThrow("undo");
    expect(leasesA.attach({ network: "n", id: "five" }).attachment.address).toBe("10.2.0.3");
    a.close();
    b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a lease or hold written after the network was seen with nothing due still ends on time", () => {
  const store = memoryStore();
  addNetwork(store, "lab", "10.7.0.0/24");
  let clock = NOW;
  const leases = new LeaseService(store, () => new Date(clock).toISOString());
  leases.attach({ network: "lab", id: "a" }); // nothing ends, ever (so far)
  store.tx(() => store.putHold({ network: "lab", addr: v4ToInt("10.7.0.50"), mac: MAC, reason: "offer", until: NOW + 1000, createdAt: NOW }));
  clock = NOW + 1500;
  leases.attach({ network: "lab", id: "b" });
  expect(store.tx(() => store.holdAt("lab", v4ToInt("10.7.0.50")))).toBeNull();
  leases.attach({ network: "lab", id: "b2" }); // nothing ends again
  store.tx(() => store.insertLease({
    network: "lab", id: "mac-02ee00000002", mac: "02:ee:00:00:00:02", addr: v4ToInt("10.7.0.51"), addressV6: null, hostname: "phone",
    state: "active", createdAt: new Date(NOW).toISOString(), updatedAt: new Date(NOW).toISOString(), expiresAt: NOW + 3000, origin: "dhcp",
  }));
  clock = NOW + 2500;
  leases.attach({ network: "lab", id: "c" });
  expect(store.getLease("lab", "mac-02ee00000002")?.state).toBe("active");
  clock = NOW + 3500;
  leases.attach({ network: "lab", id: "d" });
  expect(store.getLease("lab", "mac-02ee00000002")?.state).toBe("released");
});

/** The address a connection's next attach of `id` would get, in a transaction undone afterwards. */
function wouldGet(store: Store, network: string, id: string): string | null {
  let got: string | null = null;
  expect(() => store.tx(() => {
    got = new LeaseService(store).attach({ network, id }).attachment.address;
    throw new Error("undo the probe");
  })).toThrow("undo the probe");
  return got;
}

test("the cursor a connection keeps ahead of the stored one gives no other address than the stored one, even when another connection frees one", () => {
  const dir = mkdtempSync(join(tmpdir(), "vmlan-cursor-"));
  try {
    const path = join(dir, "vmlan.db");
    const a = new Store(path, () => {}), b = new Store(path, () => {});
    addNetwork(a, "n", "10.3.0.0/24");
    const leasesA = new LeaseService(a);
    for (let i = 0; i < 4; i++) leasesA.attach({ network: "n", id: `a${i}` }); // .2 to .5
    // A's cursor is at .5; the stored one may lag it, over addresses that are all taken.
    // Another process deletes the row on .4 (an attach undone, a claim taken back): every
    // connection's next walk finds .4 now, A's too (not .6, from the cursor it kept).
    b.tx(() => b.deleteLease("n", "a2"));
    expect(wouldGet(b, "n", "x")).toBe("10.3.0.4");
    expect(leasesA.attach({ network: "n", id: "x" }).attachment.address).toBe("10.3.0.4");
    // The same when A frees one itself.
    a.tx(() => a.deleteLease("n", "a1"));
    expect(wouldGet(b, "n", "y")).toBe("10.3.0.3");
    expect(leasesA.attach({ network: "n", id: "y" }).attachment.address).toBe("10.3.0.3");
    a.close();
    b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the stored cursor lags what a connection handed out by fewer than 8 addresses, and is not written by every attach", () => {
  const dir = mkdtempSync(join(tmpdir(), "vmlan-cursor-"));
  try {
    const path = join(dir, "vmlan.db");
    const a = new Store(path, () => {});
    addNetwork(a, "n", "10.4.0.0/24");
    const leases = new LeaseService(a);
    const db = new Database(path, { readonly: true });
    const lags: number[] = [];
    for (let i = 0; i < 40; i++) {
      const got = v4ToInt(leases.attach({ network: "n", id: `vm${i}` }).attachment.address!);
      lags.push(got - (db.query("SELECT last_allocated AS l FROM networks").get() as { l: number }).l);
    }
    expect(Math.max(...lags)).toBeLessThan(8);
    expect(lags.filter((l) => l === 0).length).toBeLessThanOrEqual(40 / 8 + 1);
    db.close();
    a.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the highest address a connection knows and that its names are all ids are forgotten when another connection writes a row", () => {
  const dir = mkdtempSync(join(tmpdir(), "vmlan-facts-"));
  try {
    const path = join(dir, "vmlan.db");
    const a = new Store(path, () => {}), b = new Store(path, () => {});
    addNetwork(a, "n", "10.5.0.0/24");
    const leasesA = new LeaseService(a), leasesB = new LeaseService(b);
    expect(leasesA.attach({ network: "n", id: "vm1" }).attachment).toMatchObject({ address: "10.5.0.2", hostname: "vm1" });
    // Another process takes the next address (above every row A has seen) and a name that is not its id.
    expect(leasesB.attach({ network: "n", id: "static", ip: "10.5.0.3", hostname: "vm2" }).attachment.hostname).toBe("vm2");
    const next = leasesA.attach({ network: "n", id: "vm2" }).attachment;
    expect(next.address).toBe("10.5.0.4");
    expect(next.hostname).toMatch(/^vm2-[0-9a-f]{4}$/);
    // A's own writes count too: a row above the walk, a name unlike its id (on a network A has seen unnamed).
    addNetwork(a, "m", "10.6.0.0/24");
    expect(leasesA.attach({ network: "m", id: "vm1" }).attachment.address).toBe("10.6.0.2");
    leasesA.attach({ network: "m", id: "far", ip: "10.6.0.3", hostname: "vm3" });
    const third = leasesA.attach({ network: "m", id: "vm3" }).attachment;
    expect(third.address).toBe("10.6.0.4");
    expect(third.hostname).toMatch(/^vm3-[0-9a-f]{4}$/);
    a.close();
    b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a pool a connection saw full is asked again once an address may be free: freed by itself or by another connection", () => {
  const dir = mkdtempSync(join(tmpdir(), "vmlan-full-"));
  try {
    const path = join(dir, "vmlan.db");
    const a = new Store(path, () => {}), b = new Store(path, () => {});
    addNetwork(a, "n", "10.9.0.0/27"); // pool .2 to .30: 29 addresses, more than the walk's quick probes
    const leasesA = new LeaseService(a);
    const ids = Array.from({ length: 29 }, (_, i) => `vm${String(i).padStart(2, "0")}`); // oldest first: (updated_at, id)
    for (const id of ids) leasesA.attach({ network: "n", id });
    for (const id of ids) leasesA.detach("n", id); // every address a released (sticky) claim
    const claimed = () => ids.filter((id) => a.getLease("n", id) !== null);
    // Full: the oldest claim goes, and the next attach takes the next oldest.
    expect(leasesA.attach({ network: "n", id: "new0" }).attachment.address).toBe("10.9.0.2");
    expect(leasesA.attach({ network: "n", id: "new1" }).attachment.address).toBe("10.9.0.3");
    expect(claimed()).toHaveLength(27);
    // This connection frees .10 (a claim deleted): the next attach gets it, and takes no claim.
    a.tx(() => a.deleteLease("n", "vm08"));
    expect(leasesA.attach({ network: "n", id: "new2" }).attachment.address).toBe("10.9.0.10");
    expect(claimed()).toHaveLength(26);
    // Another connection frees .20: the same.
    b.tx(() => b.deleteLease("n", "vm18"));
    expect(leasesA.attach({ network: "n", id: "new3" }).attachment.address).toBe("10.9.0.20");
    expect(claimed()).toHaveLength(25);
    // And full again: the oldest claim left.
    expect(leasesA.attach({ network: "n", id: "new4" }).attachment.address).toBe("10.9.0.4");
    expect(claimed()).toHaveLength(24);
    a.close();
    b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
