/**
 * DHCPDECLINE (issue #12 item 4, RFC 2131 §4.3.3): the declined address is not offered for a while
 * and the client is offered another; a client can only decline its own address.
 */
import { describe, expect, test } from "bun:test";
import { decide, storeLeaseBook, DECLINE_PROBATION_SECONDS } from "../../../src/services/dhcp/policy.ts";
import { MessageType, Opt, optIp, parseDhcp } from "../../../src/services/dhcp/wire.ts";
import { LeaseService } from "../../../src/core/leases.ts";
import { addNetwork, memoryStore } from "../../support/memory.ts";
import { buildRequest, type RequestSpec } from "./dhcp-packets.ts";

const SERVER: [number, Uint8Array] = [Opt.SERVER_ID, optIp("10.9.0.1")];

function setup(subnet = "10.9.0.0/24") {
  const clock = { ms: Date.parse("2030-01-01T00:00:00Z") };
  const store = memoryStore();
  const leases = new LeaseService(store, () => new Date(clock.ms).toISOString());
  addNetwork(store, "lab", subnet);
  const book = storeLeaseBook(store, leases, "lab");
  const ask = (r: RequestSpec) => decide(store.getNetwork("lab")!, parseDhcp(buildRequest(r)), book);
  const offered = (mac: string) => ask({ type: MessageType.DISCOVER, mac }).reply?.yiaddr ?? null;
  const dora = (mac: string) => {
    const ip = offered(mac)!;
    expect(ask({ type: MessageType.REQUEST, mac, options: [SERVER, [Opt.REQUESTED_IP, optIp(ip)]] }).reply?.type).toBe(MessageType.ACK);
    return ip;
  };
  const decline = (mac: string, ip: string, withServer = true) =>
    ask({ type: MessageType.DECLINE, mac, options: [...(withServer ? [SERVER] : []), [Opt.REQUESTED_IP, optIp(ip)]] });
  return { store, leases, ask, offered, dora, decline, advance: (s: number) => { clock.ms += s * 1000; } };
}

const A = "02:dd:00:00:00:01";
const B = "02:dd:00:00:00:02";

describe("DECLINE", () => {
  test("after a DECLINE of its lease the client is offered another address, and nobody gets the declined one until the probation ends", () => {
    const { dora, decline, offered, advance } = setup("10.9.0.0/29"); // 5 guest addresses
    const bad = dora(A);
    const d = decline(A, bad);
    expect(d.reply).toBeNull();
    expect(d.log).toContain(`${bad} is in use by another host`);
    const next = dora(A);
    expect(next).not.toBe(bad);
    const others = ["02:dd:00:00:00:03", "02:dd:00:00:00:04", "02:dd:00:00:00:05"].map(dora);
    expect(others).not.toContain(bad);
    expect(offered("02:dd:00:00:00:06")).toBeNull(); // the pool is full, the declined address is not in it
    advance(DECLINE_PROBATION_SECONDS + 1);
    expect(offered("02:dd:00:00:00:06")).toBe(bad);
  });

  test("a DECLINE of an offer (before REQUEST) holds that address too", () => {
    const { offered, decline } = setup();
    const first = offered(A)!;
    decline(A, first);
    expect(offered(A)).not.toBe(first);
    expect(offered(B)).not.toBe(first);
  });

  test("a client cannot decline an address that is not its own, nor without the server identifier", () => {
    const { dora, decline, offered } = setup("10.9.0.0/29");
    const mine = dora(A);
    const theirs = dora(B);
    expect(decline(A, theirs).log).toContain("not its address");
    expect(decline(A, mine, false).log).toContain("ignored");
    const free = offered("02:dd:00:00:00:03");
    expect(decline(A, free!).log).toContain("not its address");
    expect(offered("02:dd:00:00:00:03")).toBe(free); // still offered: nothing was held
  });

  test("an address from `vmlan attach` stays its attachment's; its client gets no offer during the probation", () => {
    const { leases, ask, decline, offered, advance } = setup();
    const vm = leases.attach({ network: "lab", id: "vm" }).attachment as { mac: string; address: string };
    ask({ type: MessageType.REQUEST, mac: vm.mac, options: [SERVER, [Opt.REQUESTED_IP, optIp(vm.address)]] });
    expect(decline(vm.mac, vm.address).log).toContain(`address conflict`);
    expect(leases.get("lab", "vm").address).toBe(vm.address);
    expect(offered(vm.mac)).toBeNull();
    advance(DECLINE_PROBATION_SECONDS + 1);
    expect(offered(vm.mac)).toBe(vm.address);
  });

  test("a released claim that is declined moves: the id keeps a claim, on another address", () => {
    const { leases, dora, decline, offered } = setup();
    const vm = leases.attach({ network: "lab", id: "vm" }).attachment as { mac: string; address: string };
    leases.detach("lab", "vm");
    const ip = dora(vm.mac); // its guest's DHCP client takes the claim back
    expect(ip).toBe(vm.address);
    decline(vm.mac, ip);
    const moved = offered(vm.mac);
    expect(moved).not.toBeNull();
    expect(moved).not.toBe(vm.address);
    expect(leases.list("lab", true).find((a) => a.id === "vm")).toMatchObject({ address: moved, state: "released" });
  });
});
