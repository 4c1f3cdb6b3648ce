/**
 * DHCP relays (issue #12 item 7): a request relayed from an address of the network's subnet is
 * answered through the relay (RFC 2131 §4.1: to giaddr, server port 67; RFC 3046: option 82
 * echoed); one from anywhere else is refused with a log line.
 */
import { describe, expect, test } from "bun:test";
import { decide, storeLeaseBook } from "../../../src/services/dhcp/policy.ts";
import { FLAG_BROADCAST, MessageType, Opt, optIp, parseDhcp, encodeDhcp, parseOptions } from "../../../src/services/dhcp/wire.ts";
import { addNetwork, services } from "../../support/memory.ts";
import { buildRequest, type RequestSpec } from "./dhcp-packets.ts";

const RELAY_INFO = 82;
const AGENT = Uint8Array.of(1, 4, 0x65, 0x74, 0x68, 0x31); // sub-option 1 (circuit id) "eth1"

function setup() {
  const s = services();
  addNetwork(s.store, "lab", "10.12.0.0/24");
  const book = storeLeaseBook(s.store, s.leases, "lab");
  return (r: RequestSpec) => decide(s.store.getNetwork("lab")!, parseDhcp(buildRequest(r)), book);
}

describe("relayed requests", () => {
  test("from a relay in the subnet: OFFER and ACK go to giaddr:67, with giaddr and option 82 echoed", () => {
    const ask = setup();
    const mac = "02:12:00:00:00:01";
    const offer = ask({ type: MessageType.DISCOVER, mac, giaddr: "10.12.0.250", options: [[RELAY_INFO, AGENT]] });
    expect(offer.reply).not.toBeNull();
    expect(offer).toMatchObject({ to: "10.12.0.250", port: 67 });
    const bytes = encodeDhcp(offer.reply!);
    expect(Array.from(bytes.subarray(24, 28)).join(".")).toBe("10.12.0.250");
    expect([...parseOptions(bytes.subarray(240)).get(RELAY_INFO)!]).toEqual([...AGENT]);
    const ack = ask({ type: MessageType.REQUEST, mac, giaddr: "10.12.0.250", options: [[Opt.REQUESTED_IP, optIp(offer.reply!.yiaddr)]] });
    expect(ack).toMatchObject({ to: "10.12.0.250", port: 67, reply: { type: MessageType.ACK } });
  });

  test("a NAK through a relay goes to giaddr:67 with the broadcast bit set (RFC 2131 §4.3.2)", () => {
    const ask = setup();
    const nak = ask({ type: MessageType.REQUEST, mac: "02:12:00:00:00:02", giaddr: "10.12.0.250", options: [[Opt.REQUESTED_IP, optIp("10.12.0.77")]] });
    expect(nak).toMatchObject({ to: "10.12.0.250", port: 67, reply: { type: MessageType.NAK } });
    expect(nak.reply!.flags & FLAG_BROADCAST).toBe(FLAG_BROADCAST);
  });

  test("a relay outside the subnet (or on its network, broadcast or gateway address) is refused, and says so", () => {
    const ask = setup();
    for (const giaddr of ["10.99.0.1", "10.12.0.0", "10.12.0.255", "10.12.0.1"]) {
      const d = ask({ type: MessageType.DISCOVER, mac: "02:12:00:00:00:03", giaddr });
      expect(d.reply).toBeNull();
      expect(d.log).toContain(`via relay ${giaddr}: refused`);
    }
  });

  test("unrelayed replies still go to the client port", () => {
    const ask = setup();
    expect(ask({ type: MessageType.DISCOVER, mac: "02:12:00:00:00:04" })).toMatchObject({ to: "broadcast", port: 68 });
  });
});
