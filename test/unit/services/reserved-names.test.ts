/**
 * DNS name takeover (issue #12 item 3): names that are vmlan's can never be taken, by DHCP option 12
 * or by `vmlan attach --hostname`, and a DHCP client never takes another attachment's name.
 */
import { describe, expect, test } from "bun:test";
import dnsPacket from "dns-packet";
import { UsageError } from "../../../src/core/errors.ts";
import { decide, idForMac, storeLeaseBook } from "../../../src/services/dhcp/policy.ts";
import { MessageType, Opt, optIp, optString, parseDhcp } from "../../../src/services/dhcp/wire.ts";
import { answer, namesOf, type Zone } from "../../../src/services/dns/zone.ts";
import { addNetwork, services } from "../../support/memory.ts";
import { buildRequest } from "./dhcp-packets.ts";

function setup() {
  const s = services();
  addNetwork(s.store, "lab", "10.8.0.0/24", { dnsDomain: "corp.example" });
  const book = storeLeaseBook(s.store, s.leases, "lab");
  /** A whole exchange asking for `hostname`; returns the hostname of the lease it got. */
  const dhcpAs = (mac: string, hostname: string) => {
    const opts: Array<[number, Uint8Array]> = [[Opt.HOSTNAME, optString(hostname)]];
    const net = s.store.getNetwork("lab")!;
    const offer = decide(net, parseDhcp(buildRequest({ type: MessageType.DISCOVER, mac, options: opts })), book);
    const ack = decide(net, parseDhcp(buildRequest({ type: MessageType.REQUEST, mac, options: [...opts, [Opt.REQUESTED_IP, optIp(offer.reply!.yiaddr)]] })), book);
    expect(ack.reply?.type).toBe(MessageType.ACK);
    return s.leases.get("lab", idForMac(mac)).hostname;
  };
  return { ...s, dhcpAs };
}

describe("reserved names", () => {
  test.each(["gateway", "GATEWAY", "localhost", "wpad", "isatap", "vmlan", "lab", "corp", "example"])("`vmlan attach --hostname %s` is a usage error (exit 2)", (name) => {
    const { leases } = setup();
    let err: unknown;
    try {
      leases.attach({ network: "lab", id: "vm", hostname: name });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(`invalid hostname "${name}": the name is reserved on network "lab" (gateway, localhost, wpad, isatap, vmlan and the network's own names)`);
    expect(leases.list("lab")).toEqual([]); // nothing was allocated
  });

  test("an id that reduces to a reserved name gets a derived one", () => {
    const { leases } = setup();
    expect(leases.attach({ network: "lab", id: "gateway" }).attachment.hostname).toMatch(/^gateway-[0-9a-f]{1,4}$/);
  });

  test("DHCP option 12 with a reserved name: the lease comes without that name", () => {
    const { dhcpAs } = setup();
    expect(dhcpAs("02:bb:00:00:00:01", "gateway")).toBe("mac-02bb00000001");
    expect(dhcpAs("02:bb:00:00:00:02", "Localhost")).toBe("mac-02bb00000002");
    expect(dhcpAs("02:bb:00:00:00:03", "wpad")).toBe("mac-02bb00000003");
  });

  test("DHCP option 12 naming another attachment (in any case) never takes its name over", () => {
    const { dhcpAs, leases } = setup();
    leases.attach({ network: "lab", id: "web", hostname: "WEB" });
    expect(dhcpAs("02:bb:00:00:00:04", "web")).toBe("mac-02bb00000004");
    expect(leases.get("lab", "web").hostname).toBe("web");
  });
});

describe("the zone answers reserved names itself", () => {
  const zone: Zone = {
    domain: "lab.vmlan", network: "lab", gateway: "10.5.0.1", gatewayV6: null, subnet: "10.5.0.0/24", subnetV6: null,
    // Rows written before names were reserved must not take over either.
    names: namesOf([{ hostname: "gateway", v4: "10.5.0.66", v6: null }, { hostname: "wpad", v4: "10.5.0.67", v6: null }]),
  };
  const ask = (name: string) => {
    const q = new Uint8Array(dnsPacket.encode({ type: "query", id: 1, questions: [{ type: "A", name, class: "IN" }] }));
    const out = answer(q, () => zone);
    if (out.kind !== "reply") throw new Error(out.kind);
    const p = dnsPacket.decode(Buffer.from(out.bytes));
    return { rcode: (p as { rcode?: string }).rcode, data: (p.answers ?? []).map((a) => (a as { data: unknown }).data) };
  };
  test("gateway is the gateway, localhost is loopback, wpad is NXDOMAIN, whatever the records say", () => {
    expect(ask("gateway").data).toEqual(["10.5.0.1"]);
    expect(ask("gateway.lab.vmlan").data).toEqual(["10.5.0.1"]);
    expect(ask("localhost").data).toEqual(["127.0.0.1"]);
    expect(ask("wpad")).toMatchObject({ rcode: "NXDOMAIN", data: [] });
    expect(ask("wpad.lab.vmlan")).toMatchObject({ rcode: "NXDOMAIN", data: [] });
  });
});
