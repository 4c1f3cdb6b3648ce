import { describe, expect, test } from "bun:test";
import { services, addNetwork } from "../../../support/memory.ts";
import { ConflictError, UsageError } from "../../../../src/core/errors.ts";
import { macFor } from "../../../../src/core/ipam/mac.ts";

describe("allocation", () => {
  test("first guest gets subnet+2 and the gateway/network/broadcast are never handed out", () => {
    const { store, leases } = services();
    addNetwork(store, "n", "10.1.0.0/29"); // .0 net, .1 gw, .2-.6 guests, .7 broadcast
    const got = [2, 3, 4, 5, 6].map((i) => leases.attach({ network: "n", id: `vm${i}` }).attachment.address);
    expect(got).toEqual(["10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5", "10.1.0.6"]);
    expect(() => leases.attach({ network: "n", id: "vm7" })).toThrow(/no free address: all 5 addresses of 10.1.0.0\/29/);
  });

  test("attach returns gateway, prefix, MTU, hostname and IPv6 when the network has a prefix", () => {
    const { store, leases } = services();
    addNetwork(store, "v6", "10.2.0.0/24", { subnetV6: "fd00:2::/64" });
    const { attachment: a, created } = leases.attach({ network: "v6", id: "Web_Server.1" });
    expect(created).toBe(true);
    expect(a).toMatchObject({ address: "10.2.0.2", prefixLength: 24, gateway: "10.2.0.1", mtu: 1500, hostname: "web-server-1", prefixLengthV6: 64 });
    expect(a.addressV6).toStartWith("fd00:2::");
  });

  test("sticky: same id gets the same address and MAC after detach, reopen and other attaches", () => {
    const { store, leases } = services();
    addNetwork(store, "s", "10.3.0.0/24");
    const first = leases.attach({ network: "s", id: "a" }).attachment;
    leases.attach({ network: "s", id: "b" });
    leases.detach("s", "a");
    leases.attach({ network: "s", id: "c" });
    const again = leases.attach({ network: "s", id: "a" }).attachment;
    expect(again.address).toBe(first.address);
    expect(again.mac).toBe(first.mac);
  });

  test("attach of an active id returns the existing lease unchanged", () => {
    const { store, leases } = services();
    addNetwork(store, "s", "10.3.0.0/24");
    const a = leases.attach({ network: "s", id: "a" });
    const b = leases.attach({ network: "s", id: "a" });
    expect(b.created).toBe(false);
    expect(b.attachment.address).toBe(a.attachment.address);
  });

  test("released addresses are reused only when the pool is otherwise full, oldest first", () => {
    let t = 0;
    const { store } = services();
    const { LeaseService } = require("../../../../src/core/leases.ts");
    const leases = new LeaseService(store, () => new Date(1_700_000_000_000 + t++ * 1000).toISOString());
    addNetwork(store, "p", "10.4.0.0/29");
    for (const id of ["a", "b", "c", "d", "e"]) leases.attach({ network: "p", id });
    leases.detach("p", "c");
    leases.detach("p", "a");
    expect(leases.attach({ network: "p", id: "x" }).attachment.address).toBe("10.4.0.4"); // c released first
    expect(leases.attach({ network: "p", id: "y" }).attachment.address).toBe("10.4.0.2");
    expect(() => leases.attach({ network: "p", id: "z" })).toThrow(ConflictError);
  });

  test("--ip reserves a specific address, with clear errors", () => {
    const { store, leases } = services();
    addNetwork(store, "r", "10.5.0.0/24");
    expect(leases.attach({ network: "r", id: "a", ip: "10.5.0.77" }).attachment.address).toBe("10.5.0.77");
    expect(() => leases.attach({ network: "r", id: "b", ip: "10.5.0.77" })).toThrow(/10.5.0.77 on "r" is taken by id "a"/);
    expect(() => leases.attach({ network: "r", id: "b", ip: "10.6.0.7" })).toThrow(/outside the subnet 10.5.0.0\/24/);
    expect(() => leases.attach({ network: "r", id: "b", ip: "10.5.0.1" })).toThrow(/gateway/);
    expect(() => leases.attach({ network: "r", id: "b", ip: "10.5.0.255" })).toThrow(/broadcast/);
    expect(() => leases.attach({ network: "r", id: "b", ip: "10.5.0.0" })).toThrow(/network address/);
    expect(() => leases.attach({ network: "r", id: "b", ip: "banana" })).toThrow(UsageError);
  });

  test("--mac is validated and unique among active attachments; hostnames too", () => {
    const { store, leases } = services();
    addNetwork(store, "m", "10.6.0.0/24");
    leases.attach({ network: "m", id: "a", mac: "52:54:00:00:00:01", hostname: "web" });
    expect(() => leases.attach({ network: "m", id: "b", mac: "52:54:00:00:00:01" })).toThrow(/already used by id "a"/);
    expect(() => leases.attach({ network: "m", id: "c", hostname: "web" })).toThrow(/hostname "web" is already used/);
    expect(() => leases.attach({ network: "m", id: "d", mac: "ff:ff:ff:ff:ff:ff" })).toThrow(/multicast/);
    expect(() => leases.attach({ network: "m", id: "bad id!" })).toThrow(/invalid interface id "bad id!"/);
  });

  test("a new id whose own MAC another attachment has is refused by the store's index, and nothing of it stays", () => {
    const { store, leases } = services();
    addNetwork(store, "m", "10.8.0.0/24");
    leases.attach({ network: "m", id: "a", mac: macFor("m", "b") }); // 10.8.0.2, with the MAC "b" would get
    const refused = () => leases.attach({ network: "m", id: "b" });
    expect(refused).toThrow(ConflictError);
    expect(refused).toThrow(`MAC ${macFor("m", "b")} is already used by id "a" on "m"`);
    expect(store.getLease("m", "b")).toBeNull();
    expect(leases.attach({ network: "m", id: "c" }).attachment.address).toBe("10.8.0.3"); // no address was used up
    // One transaction for many: the refused one is undone alone.
    const out = leases.attachMany([{ network: "m", id: "d" }, { network: "m", id: "b" }, { network: "m", id: "e" }]);
    expect(out.map((x) => (x && "error" in x ? x.error.message : x?.attachment.address))).toEqual(["10.8.0.4", `MAC ${macFor("m", "b")} is already used by id "a" on "m"`, "10.8.0.5"]);
    // The name is checked before the MAC now: an id refused for both is told about its name.
    leases.attach({ network: "m", id: "f", hostname: "web" });
    expect(() => leases.attach({ network: "m", id: "b", hostname: "web" })).toThrow(`hostname "web" is already used by id "f" on "m"`);
  });

  test("10,000 allocations in a /16 are distinct and consecutive", () => {
    const { store, leases } = services();
    addNetwork(store, "big", "10.7.0.0/16");
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) seen.add(leases.attach({ network: "big", id: `vm${i}` }).attachment.address!);
    expect(seen.size).toBe(10_000);
    expect(seen.has("10.7.39.17")).toBe(true); // 2 + 9999 = 10001 = 39*256 + 17
  });
});
