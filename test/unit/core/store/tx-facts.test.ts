// What a connection learns once (a network, its cursor, that it has no address hold) must follow
// its own writes and be forgotten when a savepoint is undone or another connection commits.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
