/** DNS answers (src/services/dns/zone.ts) and upstream parsing (forward.ts), with dns-packet as the client. */
import { describe, expect, test } from "bun:test";
import dnsPacket from "dns-packet";
import { answer, isOurs, RCODE, reverseV4, reverseV6, namesOf, type Zone } from "../../../src/services/dns/zone.ts";
import { parseResolvConf, parseUpstreams, upstreams } from "../../../src/services/dns/forward.ts";
import { RateLimited } from "../../../src/services/log.ts";

const ZONE: Zone = {
  domain: "lab.vmlan", network: "lab", gateway: "10.5.0.1", gatewayV6: "fd00:5::1", subnet: "10.5.0.0/24", subnetV6: "fd00:5::/64",
  names: namesOf([{ hostname: "web", v4: "10.5.0.2", v6: "fd00:5::aa:bbff:fecc:ddee" }, { hostname: "db", v4: "10.5.0.3", v6: null }]),
};

function ask(name: string, type: dnsPacket.RecordType = "A") {
  const q = new Uint8Array(dnsPacket.encode({ type: "query", id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: "IN" }] }));
  const out = answer(q, () => ZONE);
  if (out.kind !== "reply") return out;
  return { ...out, packet: dnsPacket.decode(Buffer.from(out.bytes)) };
}
const data = (r: ReturnType<typeof ask>) => ("packet" in r ? (r.packet.answers ?? []).map((a) => (a as { data: unknown }).data) : r.kind);
const rcode = (r: ReturnType<typeof ask>) => ("packet" in r ? (r.packet as { rcode?: string }).rcode : r.kind);

describe("answer", () => {
  test("bare and qualified names, A and AAAA, case-insensitive, authoritative, id kept", () => {
    expect(data(ask("web"))).toEqual(["10.5.0.2"]);
    expect(data(ask("WEB.lab.vmlan."))).toEqual(["10.5.0.2"]);
    expect(data(ask("web.lab.vmlan", "AAAA"))).toEqual(["fd00:5::aa:bbff:fecc:ddee"]);
    const r = ask("db.lab.vmlan");
    expect("packet" in r && r.packet).toMatchObject({ id: 4242, flag_aa: true, flag_rd: true, flag_ra: true, rcode: "NOERROR" });
    expect(data(ask("gateway"))).toEqual(["10.5.0.1"]);
  });

  test("a name without the asked type is NOERROR with no answer; unknown names inside vmlan are NXDOMAIN", () => {
    expect([rcode(ask("db", "AAAA")), data(ask("db", "AAAA"))]).toEqual(["NOERROR", []]);
    expect(rcode(ask("nope.lab.vmlan"))).toBe("NXDOMAIN");
    expect(rcode(ask("nope"))).toBe("NXDOMAIN");
    expect(rcode(ask("a.b.lab.vmlan"))).toBe("NXDOMAIN");
    expect(rcode(ask("web.other.vmlan"))).toBe("NXDOMAIN");
    expect(rcode(ask("lab.vmlan"))).toBe("NOERROR");
  });

  test("PTR for the subnet's addresses (in-addr.arpa and ip6.arpa); outside the subnet is forwarded", () => {
    expect(data(ask("2.0.5.10.in-addr.arpa", "PTR"))).toEqual(["web.lab.vmlan"]);
    expect(data(ask("1.0.5.10.in-addr.arpa", "PTR"))).toEqual(["gateway.lab.vmlan"]);
    expect(rcode(ask("99.0.5.10.in-addr.arpa", "PTR"))).toBe("NXDOMAIN");
    const v6 = "e.e.d.d.c.c.e.f.f.f.b.b.a.a.0.0.0.0.0.0.0.0.0.0.5.0.0.0.0.0.d.f.ip6.arpa";
    expect(data(ask(v6, "PTR"))).toEqual(["web.lab.vmlan"]);
    expect(ask("8.8.8.8.in-addr.arpa", "PTR")).toEqual({ kind: "forward", name: "8.8.8.8.in-addr.arpa" });
    expect(ask("example.com")).toEqual({ kind: "forward", name: "example.com" });
  });

  test("garbage: FORMERR with the id when there is a header, dropped when there is not or when it is a response", () => {
    const junk = Uint8Array.of(0xab, 0xcd, 0x01, 0x00, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0xff, 0xff);
    const out = answer(junk, () => ZONE);
    expect(out.kind).toBe("reply");
    const p = dnsPacket.decode(Buffer.from((out as { bytes: Uint8Array }).bytes));
    expect(p).toMatchObject({ id: 0xabcd, rcode: "FORMERR", type: "response" });
    expect(answer(Uint8Array.of(1, 2, 3), () => ZONE).kind).toBe("drop");
    const resp = new Uint8Array(dnsPacket.encode({ type: "response", id: 1, questions: [{ type: "A", name: "web", class: "IN" }] }));
    expect(answer(resp, () => ZONE).kind).toBe("drop");
    for (let i = 0; i < 2000; i++) answer(crypto.getRandomValues(new Uint8Array(Math.floor(Math.random() * 80))), () => ZONE); // never throws
  });

  test("non-QUERY opcodes get NOTIMP", () => {
    const q = new Uint8Array(dnsPacket.encode({ type: "query", id: 7, questions: [{ type: "A", name: "web", class: "IN" }] }));
    q[2] = (q[2]! & 0x87) | (4 << 3); // NOTIFY
    const out = answer(q, () => ZONE) as { bytes: Uint8Array };
    expect(out.bytes[3]! & 0x0f).toBe(RCODE.NOTIMP);
  });

  test("isOurs / reverse helpers", () => {
    expect(isOurs("x.lab.vmlan", ZONE)).toBe(true);
    expect(isOurs("example.org", ZONE)).toBe(false);
    expect(isOurs("3.0.5.10.in-addr.arpa", ZONE)).toBe(true);
    expect(isOurs("5.10.in-addr.arpa", ZONE)).toBe(false);
    expect(reverseV4("4.3.2.1.in-addr.arpa")).toBe("1.2.3.4");
    expect(reverseV6("1.0.ip6.arpa")).toBeNull();
  });
});

describe("upstreams", () => {
  test("resolv.conf nameservers, the override variable, and never our own gateways", () => {
    expect(parseResolvConf("# c\nsearch x\nnameserver 10.0.0.53\nnameserver fe80::1%eth0\nnameserver bogus\n")).toEqual([{ host: "10.0.0.53", port: 53 }, { host: "fe80::1", port: 53 }]);
    expect(parseUpstreams("10.1.1.1:5353, [fd00::53]:53 10.2.2.2 nope:1")).toEqual([{ host: "10.1.1.1", port: 5353 }, { host: "fd00::53", port: 53 }, { host: "10.2.2.2", port: 53 }]);
    expect(upstreams(new Set(["10.5.0.1"]), { VMLAN_DNS_UPSTREAM: "10.5.0.1,10.9.9.9" })).toEqual([{ host: "10.9.9.9", port: 53 }]);
  });
});

test("RateLimited logs the first event, then one summary per interval", () => {
  const lines: string[] = [];
  let now = 0;
  const r = new RateLimited((m) => lines.push(m), "bad things", 10_000, () => now);
  r.hit("a");
  r.hit("b");
  now = 5_000;
  r.hit("c");
  now = 11_000;
  r.hit("d");
  expect(lines).toEqual(["1 bad things ignored (latest: a)", "3 bad things ignored in the last 11 s (latest: d)"]);
  expect(r.total).toBe(4);
});
