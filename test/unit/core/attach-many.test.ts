/**
 * Many attaches in one transaction (LeaseService.attachMany, what apply uses for its reservations):
 * the same leases one attach each would give, a failure undoes only its own request, and the store's
 * nested transactions (savepoints) keep what the outer one did.
 */
import { expect, test } from "bun:test";
import { addNetwork, services } from "../../support/memory.ts";
import { ConflictError } from "../../../src/core/errors.ts";
import { v4ToInt } from "../../../src/core/ipam/subnet.ts";

test("the same leases as one attach each, in request order", () => {
  const one = services(), many = services();
  for (const s of [one, many]) addNetwork(s.store, "lab", "10.44.0.0/24", { subnetV6: "fd00:44::/64" });
  const reqs = ["web", "db", "cache"].map((id) => ({ network: "lab", id }));
  const singly = reqs.map((r) => one.leases.attach(r).attachment);
  const batch = many.leases.attachMany(reqs);
  expect(batch.map((x) => x && "attachment" in x && x.attachment)).toEqual(singly.map((a) => ({ ...a, createdAt: expect.any(String), updatedAt: expect.any(String) })));
});

test("a failure undoes only its own request; with stopAtError the rest are not attempted", () => {
  const { store, leases } = services();
  addNetwork(store, "lab", "10.45.0.0/24");
  leases.attach({ network: "lab", id: "taken", ip: "10.45.0.9" });
  const reqs = [{ network: "lab", id: "a" }, { network: "lab", id: "b", ip: "10.45.0.9" }, { network: "lab", id: "c" }];
  const all = leases.attachMany(reqs);
  expect(all.map((x) => (x && "error" in x ? x.error.constructor : x?.attachment.id))).toEqual(["a", ConflictError, "c"]);
  expect(store.getLease("lab", "b")).toBeNull();

  const stop = leases.attachMany([{ network: "lab", id: "d" }, { network: "lab", id: "e", ip: "10.45.0.9" }, { network: "lab", id: "f" }], { stopAtError: true });
  expect(stop.map((x) => (x === null ? null : "error" in x ? "error" : x.attachment.id))).toEqual(["d", "error", null]);
  expect(leases.list("lab").map((a) => a.id).sort()).toEqual(["a", "c", "d", "taken"]);
});

test("a transaction inside a transaction is a savepoint: its failure leaves the outer one's work", () => {
  const { store } = services();
  addNetwork(store, "lab", "10.46.0.0/24");
  store.tx(() => {
    store.setLastAllocated("lab", 7);
    expect(() => store.tx(() => {
      store.setLastAllocated("lab", 9);
      throw new Error("inner fails");
    })).toThrow("inner fails");
    expect(store.lastAllocated("lab")).toBe(7);
  });
  expect(store.lastAllocated("lab")).toBe(7);
  expect(() => store.tx(() => {
    store.setLastAllocated("lab", 11);
    throw new Error("outer fails");
  })).toThrow("outer fails");
  expect(store.lastAllocated("lab")).toBe(7);
});

test("a full pool is known by one count; a free address far past the cursor is still found, not a claim taken", () => {
  const { store, leases } = services();
  addNetwork(store, "pool", "10.47.0.0/24"); // 253 addresses
  leases.attachMany(Array.from({ length: 253 }, (_, i) => ({ network: "pool", id: `vm-${i}` })));
  leases.detach("pool", "vm-10"); // a sticky claim on 10.47.0.12
  store.tx(() => store.deleteLease("pool", "vm-200")); // 10.47.0.202 never used again
  store.tx(() => store.setLastAllocated("pool", v4ToInt("10.47.0.20"))); // the cursor far before the free address
  expect(leases.attach({ network: "pool", id: "new" }).attachment.address).toBe("10.47.0.202");
  expect(store.getLease("pool", "vm-10")?.state).toBe("released");
  // Now full: the oldest released claim goes to the next new id.
  expect(leases.attach({ network: "pool", id: "newer" }).attachment.address).toBe("10.47.0.12");
  expect(store.getLease("pool", "vm-10")).toBeNull();
});
