// What a transaction learns once (a network's cursor, that it has no address hold) must follow
// every write of that transaction and be forgotten when a savepoint is undone.
import { expect, test } from "bun:test";
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
