/**
 * The lease follows the port (src/core/port-follow.ts) over a real in-memory store, with a guard
 * double that reports a learned MAC: an attachment takes the MAC its VM uses (and the IPv6 EUI-64
 * with it), a MAC another attachment holds is refused and the port pinned to the lease's own, and a
 * port without an attachment (a switch client) gets its lease's addresses once DHCP made one.
 */
import { describe, expect, test } from "bun:test";
import { LeaseService } from "../../../src/core/leases.ts";
import { attachmentIdentity, followPort, portIdentity, staticSpace } from "../../../src/core/port-follow.ts";
import type { PortGuard, PortIdentity } from "../../../src/platform/types.ts";
import { addNetwork, memoryStore } from "../../support/memory.ts";

function guard(learned: string | null) {
  const updates: PortIdentity[] = [];
  const g: PortGuard & { learned: string | null } = {
    ifname: "vlt9", learned,
    mac: () => updates.at(-1)?.mac ?? g.learned,
    update: (i) => void updates.push(i),
    release: () => {},
  };
  return { g, updates };
}

function setup() {
  const store = memoryStore();
  addNetwork(store, "n", "10.8.0.0/24", { subnetV6: "fd08::/64" });
  const leases = new LeaseService(store);
  const logs: string[] = [];
  return { leases, logs, log: (l: string) => void logs.push(l) };
}

describe("the lease follows the port", () => {
  test("a VM that uses its own MAC: the attachment takes it, with the EUI-64 address, and the port is pinned", () => {
    const { leases, log } = setup();
    const a = leases.attach({ network: "n", id: "vm" }).attachment;
    const { g, updates } = guard("02:99:00:00:00:01");
    const f = followPort(g, { network: "n", id: "vm", leases, log });
    f.tick();
    f.stop();
    const now = leases.get("n", "vm");
    expect(now.mac).toBe("02:99:00:00:00:01");
    expect(now.address).toBe(a.address); // the id keeps its address
    expect(now.addressV6).toBe("fd08::99:ff:fe00:1");
    expect(updates.at(-1)).toEqual(attachmentIdentity(leases, now, { pinned: true }));
    expect(updates.at(-1)!.lease!.ipv6).toEqual(["fe80::99:ff:fe00:1", "fd08::99:ff:fe00:1"]);
  });

  test("a MAC another attachment holds is not taken: the port is pinned to the lease's own MAC", () => {
    const { leases, logs, log } = setup();
    const victim = leases.attach({ network: "n", id: "victim" }).attachment;
    const mine = leases.attach({ network: "n", id: "thief" }).attachment;
    const { g, updates } = guard(victim.mac);
    const f = followPort(g, { network: "n", id: "thief", leases, log });
    f.tick();
    f.stop();
    expect(leases.get("n", "thief").mac).toBe(mine.mac);
    expect(updates.at(-1)!.mac).toBe(mine.mac);
    expect(logs.join("\n")).toContain(`the VM sent from MAC ${victim.mac}, which is not its own`);
  });

  test("a port without an attachment checks addresses once DHCP gave its MAC a lease", () => {
    const { leases, log } = setup();
    const { g, updates } = guard(null);
    const f = followPort(g, { network: "n", leases, log });
    f.tick();
    expect(updates).toEqual([]); // nothing learned yet
    g.learned = "02:99:00:00:00:02";
    f.tick();
    expect(updates.at(-1)).toEqual({ mac: "02:99:00:00:00:02", lease: null });
    const dhcp = leases.attach({ network: "n", id: "mac-029900000002", mac: "02:99:00:00:00:02" }).attachment;
    f.tick();
    expect(updates.at(-1)!.lease!.ipv4).toBe(dhcp.address!);
    const count = updates.length;
    f.tick();
    expect(updates.length).toBe(count); // unchanged: no rewrite
    f.stop();
  });

  test("on a bridged network (no address of vmlan's) only the MAC is checked", () => {
    expect(portIdentity({ mac: "02:99:00:00:00:03", address: null, addressV6: null }, { pinned: true })).toEqual({ mac: "02:99:00:00:00:03", lease: null, allowSpoofing: undefined });
  });

  test("a network whose pool is narrower than its subnet leaves the rest to static addresses: allowed as sources", () => {
    const net = { subnet: "10.77.0.0/24", gateway: "10.77.0.1", poolStart: "10.77.0.1", poolEnd: "10.77.0.50" };
    expect(staticSpace(net)).toEqual(["10.77.0.51-10.77.0.254"]);
    expect(staticSpace({ ...net, poolStart: "10.77.0.10", gateway: "10.77.0.5" })).toEqual(["10.77.0.1-10.77.0.4", "10.77.0.6-10.77.0.9", "10.77.0.51-10.77.0.254"]);
    expect(staticSpace({ ...net, poolStart: null, poolEnd: null })).toEqual([]);
  });
});
