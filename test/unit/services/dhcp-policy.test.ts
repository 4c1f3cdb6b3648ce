/** DHCP decisions over a real (in-memory) store: the leases are vmlan's attachments, sticky by MAC. */
import { describe, expect, test } from "bun:test";
import { decide, idForMac, storeLeaseBook, LEASE_SECONDS, T1_SECONDS, T2_SECONDS } from "../../../src/services/dhcp/policy.ts";
import { MessageType, Opt, optIp, optString, parseDhcp, parseOptions, encodeDhcp, readIp, type DhcpMessage } from "../../../src/services/dhcp/wire.ts";
import { addNetwork, services } from "../../support/memory.ts";
import { buildRequest, type RequestSpec } from "./dhcp-packets.ts";

function setup(subnet = "10.5.0.0/24", extra: Record<string, unknown> = {}) {
  const s = services();
  const net = addNetwork(s.store, "lab", subnet, extra);
  const book = storeLeaseBook(s.store, s.leases, "lab");
  const ask = (r: RequestSpec) => decide(s.store.getNetwork("lab")!, parseDhcp(buildRequest(r)), book);
  /** DISCOVER then REQUEST of what was offered (with the same options), as a client does. */
  const dora = (r: RequestSpec) => {
    const offer = ask({ ...r, type: MessageType.DISCOVER });
    return ask({ ...r, type: MessageType.REQUEST, options: [...(r.options ?? []), [Opt.REQUESTED_IP, optIp(offer.reply!.yiaddr)]] });
  };
  return { ...s, net, book, ask, dora };
}

/** The reply as a client would parse it (op flipped so the request parser accepts it). */
function asClient(d: ReturnType<ReturnType<typeof setup>["ask"]>): DhcpMessage {
  if (!d.reply) throw new Error(`no reply (log: ${d.log})`);
  const b = encodeDhcp(d.reply);
  b[0] = 1;
  return parseDhcp(b);
}

const MAC = "02:aa:00:00:00:01";

describe("DISCOVER / REQUEST", () => {
  test("an unknown MAC gets a new attachment mac-<hex> with the hostname it sent, and every option", () => {
    const { ask, dora, leases, store } = setup("10.5.0.0/24", { mtu: 1400, dnsDomain: "lab.example" });
    const offer = asClient(ask({ type: MessageType.DISCOVER, mac: MAC, options: [[Opt.HOSTNAME, optString("Web-1")]] }));
    expect(offer.type).toBe(MessageType.OFFER);
    expect(offer.yiaddr).toBe("10.5.0.2");
    expect(asClient(dora({ mac: MAC, options: [[Opt.HOSTNAME, optString("Web-1")]] })).type).toBe(MessageType.ACK);
    const a = leases.get("lab", idForMac(MAC));
    expect(a).toMatchObject({ id: "mac-02aa00000001", mac: MAC, address: "10.5.0.2", hostname: "web-1", state: "active" });
    const o = parseOptions(encodeDhcp(ask({ type: MessageType.DISCOVER, mac: MAC }).reply!).subarray(240));
    const ip = (c: number) => [...o.get(c)!].join(".");
    expect([ip(Opt.SERVER_ID), ip(Opt.ROUTER), ip(Opt.DNS_SERVERS), ip(Opt.SUBNET_MASK), ip(Opt.BROADCAST)]).toEqual(["10.5.0.1", "10.5.0.1", "10.5.0.1", "255.255.255.0", "10.5.0.255"]);
    const u32 = (c: number) => new DataView(o.get(c)!.buffer, o.get(c)!.byteOffset).getUint32(0);
    expect([u32(Opt.LEASE_TIME), u32(Opt.T1), u32(Opt.T2)]).toEqual([LEASE_SECONDS, T1_SECONDS, T2_SECONDS]);
    expect(new DataView(o.get(Opt.INTERFACE_MTU)!.buffer, o.get(Opt.INTERFACE_MTU)!.byteOffset).getUint16(0)).toBe(1400);
    expect(new TextDecoder().decode(o.get(Opt.DOMAIN_NAME))).toBe("lab.example");
    expect(new TextDecoder().decode(o.get(Opt.HOSTNAME))).toBe("web-1");
    expect(store.countActive("lab")).toBe(1); // asking twice did not allocate twice
  });

  test("a MAC that `vmlan attach` gave out gets exactly that address", () => {
    const { ask, leases } = setup();
    leases.attach({ network: "lab", id: "first" });
    const vm = leases.attach({ network: "lab", id: "vm", hostname: "db" }).attachment as { mac: string; address: string };
    const offer = asClient(ask({ type: MessageType.DISCOVER, mac: vm.mac }));
    expect(offer.yiaddr).toBe(vm.address);
    const d = ask({ type: MessageType.REQUEST, mac: vm.mac, options: [[Opt.SERVER_ID, optIp("10.5.0.1")], [Opt.REQUESTED_IP, optIp(vm.address)]] });
    expect(asClient(d).type).toBe(MessageType.ACK);
    expect(d.reply && d.to).toBe("broadcast");
  });

  test("REQUEST for another address is NAKed (broadcast); a REQUEST for another server is ignored", () => {
    const { ask } = setup();
    ask({ type: MessageType.DISCOVER, mac: MAC });
    const nak = ask({ type: MessageType.REQUEST, mac: MAC, options: [[Opt.REQUESTED_IP, optIp("10.5.0.99")]] });
    expect(asClient(nak).type).toBe(MessageType.NAK);
    expect(nak.reply && nak.to).toBe("broadcast");
    expect(asClient(ask({ type: MessageType.REQUEST, mac: MAC, options: [[Opt.REQUESTED_IP, optIp("10.9.9.9")]] })).type).toBe(MessageType.NAK);
    const other = ask({ type: MessageType.REQUEST, mac: MAC, options: [[Opt.SERVER_ID, optIp("10.5.0.254")], [Opt.REQUESTED_IP, optIp("10.5.0.2")]] });
    expect(other.reply).toBeNull();
  });

  test("a renewing client (ciaddr set) is ACKed by unicast to its address", () => {
    const { ask } = setup();
    ask({ type: MessageType.DISCOVER, mac: MAC });
    const d = ask({ type: MessageType.REQUEST, mac: MAC, ciaddr: "10.5.0.2" });
    expect(asClient(d)).toMatchObject({ type: MessageType.ACK, yiaddr: "10.5.0.2", ciaddr: "10.5.0.2" });
    expect(d.reply && d.to).toBe("10.5.0.2");
  });

  test("an invalid hostname is not used, and a taken one falls back to the id's", () => {
    const { dora, leases } = setup();
    leases.attach({ network: "lab", id: "owner", hostname: "taken" });
    dora({ mac: MAC, options: [[Opt.HOSTNAME, optString("bad_name!")]] });
    expect(leases.get("lab", idForMac(MAC)).hostname).toBe("mac-02aa00000001");
    dora({ mac: "02:aa:00:00:00:02", options: [[Opt.HOSTNAME, optString("taken")]] });
    expect(leases.get("lab", "mac-02aa00000002").hostname).toBe("mac-02aa00000002");
  });
});

describe("RELEASE, stickiness, exhaustion", () => {
  test("RELEASE detaches; the same MAC later gets the same address and hostname back", () => {
    const { ask, dora, leases, store } = setup();
    dora({ mac: MAC, options: [[Opt.HOSTNAME, optString("web")]] });
    const rel = ask({ type: MessageType.RELEASE, mac: MAC, ciaddr: "10.5.0.2", options: [[Opt.SERVER_ID, optIp("10.5.0.1")]] });
    expect(rel.reply).toBeNull();
    expect(rel.log).toContain("released 10.5.0.2");
    expect(store.getLease("lab", idForMac(MAC))!.state).toBe("released");
    leases.attach({ network: "lab", id: "other" }); // takes a never-used address, not the released one
    const again = asClient(dora({ mac: MAC }));
    expect(again.yiaddr).toBe("10.5.0.2");
    expect(leases.get("lab", idForMac(MAC))).toMatchObject({ state: "active", hostname: "web" });
  });

  test("a full pool: no offer and a log line for DISCOVER, NAK for REQUEST; nothing throws", () => {
    const { ask, leases } = setup("10.6.0.0/30");
    leases.attach({ network: "lab", id: "only" }); // a /30 has one guest address: .2
    const d = ask({ type: MessageType.DISCOVER, mac: MAC });
    expect(d.reply).toBeNull();
    expect(d.log).toContain("no free address");
    const r = ask({ type: MessageType.REQUEST, mac: MAC, options: [[Opt.REQUESTED_IP, optIp("10.6.0.2")]] });
    expect(asClient(r).type).toBe(MessageType.NAK);
  });

  test("a DECLINE without the server identifier is ignored (dhcp-decline.test.ts has the rest); INFORM gets options without an address", () => {
    const { ask } = setup();
    expect(ask({ type: MessageType.DECLINE, mac: MAC, options: [[Opt.REQUESTED_IP, optIp("10.5.0.2")]] })).toMatchObject({ reply: null, log: expect.stringContaining("ignored") });
    const inform = ask({ type: MessageType.INFORM, mac: MAC, ciaddr: "10.5.0.50" });
    expect(asClient(inform)).toMatchObject({ type: MessageType.ACK, yiaddr: "0.0.0.0" });
    expect(readIp(asClient(inform), Opt.LEASE_TIME)).toBeNull();
    expect(inform.reply && inform.to).toBe("10.5.0.50");
  });
});
