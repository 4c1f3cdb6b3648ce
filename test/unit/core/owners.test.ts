/**
 * Attachment owners (src/core/owners.ts, migration 4) over a real in-memory store, with a liveness
 * policy the test controls: a live owner's id is refused to a second claimant and taken over once
 * it is dead; orphans are released (sticky claim kept) and reported; a full pool of orphans yields
 * to an attach; and the owner row never outlives the attachment's active state, whoever releases it.
 */
import { describe, expect, test } from "bun:test";
import { LeaseService } from "../../../src/core/leases.ts";
import type { Owner } from "../../../src/core/resources/attachment.ts";
import type { OwnedAttachment } from "../../../src/core/store/owner-queries.ts";
import { addNetwork, memoryStore } from "../../support/memory.ts";

function setup(subnet = "10.9.0.0/24") {
  const store = memoryStore();
  addNetwork(store, "n", subnet);
  const dead = new Set<number>();
  const orphans: OwnedAttachment[] = [];
  const leases = new LeaseService(store, undefined, { alive: (o) => !dead.has(o.pid), onOrphan: (o) => orphans.push(o) });
  return { store, leases, dead, orphans };
}
const owner = (pid: number, socket: string | null = null): Owner => ({ pid, start: `t${pid}`, socket });

describe("attachment owners", () => {
  test("a live owner's attachment is refused to another claimant, and taken over once that owner is dead", () => {
    const { store, leases, dead } = setup();
    leases.attach({ network: "n", id: "vm", owner: owner(100) });
    expect(() => leases.attach({ network: "n", id: "vm", owner: owner(200) })).toThrow(/id "vm" on network "n" is in use by pid 100/);
    // Without a claim (vmlan attach, DHCP) the active lease is simply returned, owner unchanged.
    expect(leases.attach({ network: "n", id: "vm" }).created).toBe(false);
    expect(store.owners.get("n", "vm")?.pid).toBe(100);
    dead.add(100);
    leases.attach({ network: "n", id: "vm", owner: owner(200) });
    expect(store.owners.get("n", "vm")?.pid).toBe(200);
    // The same process claiming again is no conflict (a start time differing would be another process).
    leases.attach({ network: "n", id: "vm", owner: owner(200) });
    expect(() => leases.attach({ network: "n", id: "vm", owner: { pid: 200, start: "later" } })).toThrow(/in use by pid 200/);
  });

  test("orphans are released (claims kept), reported with their socket, and live owners' attachments stay", () => {
    const { leases, dead, orphans } = setup();
    leases.attach({ network: "n", id: "a", owner: owner(1, "/run/a.sock") });
    leases.attach({ network: "n", id: "b", owner: owner(2) });
    leases.attach({ network: "n", id: "c" }); // no owner: vmlan attach's are the user's
    dead.add(1);
    expect(leases.releaseOrphans().map((o) => [o.id, o.socket])).toEqual([["a", "/run/a.sock"]]);
    expect(orphans.map((o) => o.id)).toEqual(["a"]);
    expect(leases.list("n").map((l) => l.id)).toEqual(["b", "c"]);
    expect(leases.list("n", true).find((l) => l.id === "a")?.state).toBe("released");
    expect(leases.releaseOrphans()).toEqual([]); // nothing twice
  });

  test("an attach that finds the pool full releases orphans first, then gets an address", () => {
    const { leases, dead } = setup("10.9.1.0/29"); // 5 guest addresses
    for (let i = 0; i < 5; i++) leases.attach({ network: "n", id: `h${i}`, owner: owner(10 + i) });
    expect(() => leases.attach({ network: "n", id: "late" })).toThrow(/no free address/);
    dead.add(12);
    const { attachment } = leases.attach({ network: "n", id: "late" });
    expect(attachment.state).toBe("active");
    expect(leases.list("n").map((l) => l.id).sort()).toEqual(["h0", "h1", "h3", "h4", "late"]);
  });

  test("the owner row goes with the active state, whoever ends it; a re-activated claim has no owner", () => {
    const { store, leases } = setup();
    leases.attach({ network: "n", id: "x", owner: owner(7) });
    leases.detach("n", "x");
    expect(store.owners.get("n", "x")).toBeNull();
    leases.attach({ network: "n", id: "x", owner: owner(7) });
    // A release by another path (DHCP RELEASE, lease expiry: a plain row update) drops it too.
    store.tx(() => store.putLease({ ...store.getLease("n", "x")!, state: "released" }));
    expect(store.owners.get("n", "x")).toBeNull();
    leases.attach({ network: "n", id: "x" });
    expect(store.owners.get("n", "x")).toBeNull();
    leases.setOwner("n", "x", owner(8));
    expect(store.owners.get("n", "x")?.pid).toBe(8);
    store.tx(() => store.deleteLease("n", "x"));
    expect(store.owners.list()).toEqual([]);
  });

  test("undo of a failed start removes the owner with the row", () => {
    const { store, leases } = setup();
    const a = leases.attach({ network: "n", id: "gone", owner: owner(9) });
    a.undo();
    expect(store.getLease("n", "gone")).toBeNull();
    expect(store.owners.list()).toEqual([]);
  });
});
