import { describe, expect, test } from "bun:test";
import { addNetwork, services } from "../../../support/memory.ts";
import { checkAddressing, poolOf } from "../../../../src/core/ipam/addressing.ts";
import { configDiff, parseRequest } from "../../../../src/core/network-config.ts";
import { exportState } from "../../../../src/core/apply/export.ts";
import { ConflictError } from "../../../../src/core/errors.ts";

describe("a network with a pool (vmnet's --start-address/--end-address)", () => {
  test("guests get addresses only inside the pool, in order, and the pool's exhaustion says so", () => {
    const { store, leases } = services();
    addNetwork(store, "r", "192.168.200.0/24", { gateway: "192.168.200.1", poolStart: "192.168.200.2", poolEnd: "192.168.200.4" });
    const got = ["a", "b", "c"].map((id) => leases.attach({ network: "r", id }).attachment.address);
    expect(got).toEqual(["192.168.200.2", "192.168.200.3", "192.168.200.4"]);
    expect(() => leases.attach({ network: "r", id: "d" })).toThrow(/no free address: all 3 addresses of 192\.168\.200\.2-192\.168\.200\.4 are attached/);
  });

  test("addresses outside the pool stay free for static --ip, and a released static claim is never handed out", () => {
    const { store, leases } = services();
    addNetwork(store, "r", "10.9.0.0/24", { poolStart: "10.9.0.10", poolEnd: "10.9.0.11" });
    expect(leases.attach({ network: "r", id: "static", ip: "10.9.0.200" }).attachment.address).toBe("10.9.0.200");
    leases.detach("r", "static");
    expect(leases.attach({ network: "r", id: "a" }).attachment.address).toBe("10.9.0.10");
    expect(leases.attach({ network: "r", id: "b" }).attachment.address).toBe("10.9.0.11");
    expect(() => leases.attach({ network: "r", id: "c" })).toThrow(ConflictError); // not 10.9.0.200
    leases.detach("r", "a");
    expect(leases.attach({ network: "r", id: "c" }).attachment.address).toBe("10.9.0.10"); // a's pool claim is reclaimed
  });

  test("a gateway other than subnet + 1 is the gateway leases report and is never handed out", () => {
    const { store, leases } = services();
    addNetwork(store, "g", "10.8.0.0/29", { gateway: "10.8.0.3" });
    const got = ["a", "b", "c", "d", "e"].map((id) => leases.attach({ network: "g", id }).attachment);
    expect(got.map((a) => a.address)).toEqual(["10.8.0.1", "10.8.0.2", "10.8.0.4", "10.8.0.5", "10.8.0.6"]);
    expect(got[0]!.gateway).toBe("10.8.0.3");
    expect(() => leases.attach({ network: "g", id: "x", ip: "10.8.0.3" })).toThrow(/is the gateway of "g"/);
    expect(poolOf(store.getNetwork("g")!)).toEqual({ first: 0x0a080001, last: 0x0a080006, gateway: 0x0a080003, size: 5 });
  });

  test("a /30 with one guest address, as vmnet-helper's tests use (start .253, end .254)", () => {
    const { store, leases } = services();
    addNetwork(store, "tiny", "192.168.200.252/30", { gateway: "192.168.200.253", poolStart: "192.168.200.254", poolEnd: "192.168.200.254" });
    expect(leases.attach({ network: "tiny", id: "one" }).attachment).toMatchObject({ address: "192.168.200.254", gateway: "192.168.200.253", prefixLength: 30 });
    expect(() => leases.attach({ network: "tiny", id: "two" })).toThrow(ConflictError);
  });

  test("bad gateways and pools are refused naming the value", () => {
    const s = "10.7.0.0/24";
    expect(() => checkAddressing(s, { gateway: "10.7.1.1" })).toThrow(`gateway 10.7.1.1 is outside the subnet 10.7.0.0/24`);
    expect(() => checkAddressing(s, { gateway: "10.7.0.255" })).toThrow(`gateway 10.7.0.255 is the broadcast address of 10.7.0.0/24`);
    expect(() => checkAddressing(s, { gateway: "x\u0001" })).toThrow(/invalid gateway "x/);
    expect(() => checkAddressing(s, { poolStart: "10.7.0.5" })).toThrow("a pool needs both its first and its last address");
    expect(() => checkAddressing(s, { poolStart: "10.7.0.9", poolEnd: "10.7.0.3" })).toThrow("pool 10.7.0.9-10.7.0.3 is empty: its start is after its end");
    expect(() => checkAddressing(s, { poolStart: "10.7.0.0", poolEnd: "10.7.0.3" })).toThrow("pool start 10.7.0.0 is the network address");
    expect(() => checkAddressing(s, { poolStart: "10.7.0.1", poolEnd: "10.7.0.3" })).toThrow("pool 10.7.0.1-10.7.0.3 contains the gateway 10.7.0.1");
    expect(checkAddressing(s, {})).toEqual({ gateway: "10.7.0.1", poolStart: null, poolEnd: null });
  });

  test("create compares a given gateway and pool; the stored record and the export keep them", () => {
    const { store } = services();
    const n = addNetwork(store, "r", "10.6.0.0/24", { gateway: "10.6.0.1", poolStart: "10.6.0.2", poolEnd: "10.6.0.50" });
    expect(store.getNetwork("r")).toMatchObject({ gateway: "10.6.0.1", poolStart: "10.6.0.2", poolEnd: "10.6.0.50" });
    expect(configDiff(n, parseRequest({ name: "r", subnet: "10.6.0.0/24", poolStart: "10.6.0.2", poolEnd: "10.6.0.50" }))).toEqual([]);
    expect(configDiff(n, parseRequest({ name: "r", poolStart: "10.6.0.2", poolEnd: "10.6.0.60" }))).toEqual(["pool: 10.6.0.2-10.6.0.50 -> 10.6.0.2-10.6.0.60"]);
    expect(configDiff(n, parseRequest({ name: "r" }))).toEqual([]);
    const [exported] = exportState(store).networks!;
    expect(exported).toMatchObject({ name: "r", pool_start: "10.6.0.2", pool_end: "10.6.0.50" });
    expect(exported).not.toHaveProperty("gateway"); // subnet + 1 is the default
  });
});
