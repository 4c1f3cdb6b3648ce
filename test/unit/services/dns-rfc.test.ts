/**
 * What vmlan's own DNS answers must carry (issue #12 item 6): an EDNS0 OPT record when the query
 * has one (RFC 6891 §7, BADVERS for versions above 0), the zone's SOA in negative answers
 * (RFC 2308 §3), and the question section in SERVFAIL.
 */
import { describe, expect, test } from "bun:test";
import dnsPacket from "dns-packet";
import { answer, errorReply, RCODE, TTL_SECONDS, namesOf, type Zone } from "../../../src/services/dns/zone.ts";

const ZONE: Zone = {
  domain: "lab.vmlan", network: "lab", gateway: "10.5.0.1", gatewayV6: null, subnet: "10.5.0.0/24", subnetV6: null,
  names: namesOf([{ hostname: "web", v4: "10.5.0.2", v6: null }]),
};

type Opt = { type: "OPT"; udpPayloadSize: number; ednsVersion: number; extendedRcode: number; flags: number };
function query(name: string, type: dnsPacket.RecordType = "A", opt?: Partial<Opt>): Uint8Array {
  const additionals = opt ? [{ type: "OPT", name: ".", udpPayloadSize: 4096, flags: 0, ...opt } as unknown as dnsPacket.Answer] : [];
  return new Uint8Array(dnsPacket.encode({ type: "query", id: 99, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: "IN" }], additionals }));
}
function reply(q: Uint8Array) {
  const out = answer(q, () => ZONE);
  if (out.kind !== "reply") throw new Error(`not answered here: ${out.kind}`);
  const p = dnsPacket.decode(Buffer.from(out.bytes)) as dnsPacket.DecodedPacket & { rcode: string };
  const opt = (p.additionals ?? []).find((a) => a.type === "OPT") as unknown as Opt | undefined;
  return { p, opt, bytes: out.bytes };
}

describe("EDNS0 (RFC 6891)", () => {
  test("a query with OPT gets OPT back (payload size 1232, version 0, DO echoed); one without gets none", () => {
    const { opt, p } = reply(query("web", "A", { flags: 0x8000 }));
    expect(opt).toMatchObject({ udpPayloadSize: 1232, ednsVersion: 0, extendedRcode: 0 });
    expect(opt!.flags & 0x8000).toBe(0x8000);
    expect(p.answers!.length).toBe(1);
    expect(reply(query("web")).opt).toBeUndefined();
  });

  test("an EDNS version above 0 gets BADVERS (extended rcode 16) with OPT version 0, and no answer", () => {
    const { opt, p, bytes } = reply(query("web", "A", { ednsVersion: 1 }));
    expect(opt).toMatchObject({ ednsVersion: 0, extendedRcode: 1 });
    expect(bytes[3]! & 0x0f).toBe(0); // 16 = 1 << 4 | 0
    expect(p.answers ?? []).toEqual([]);
  });

  test("NXDOMAIN and FORMERR-free error replies keep OPT too", () => {
    expect(reply(query("nope.lab.vmlan", "A", {})).opt).toMatchObject({ ednsVersion: 0 });
  });
});

describe("negative answers carry the zone's SOA (RFC 2308)", () => {
  const soa = (q: Uint8Array) => {
    const { p } = reply(q);
    return { rcode: p.rcode, ns: (p.authorities ?? []).map((a) => ({ type: a.type, name: a.name, ttl: (a as { ttl?: number }).ttl, data: (a as { data: unknown }).data })) };
  };

  test("NXDOMAIN and NODATA inside the domain: SOA of the domain, MINIMUM = the TTL", () => {
    for (const q of [query("nope.lab.vmlan"), query("nope"), query("web", "AAAA")]) {
      const { ns } = soa(q);
      expect(ns).toEqual([{ type: "SOA", name: "lab.vmlan", ttl: TTL_SECONDS, data: expect.objectContaining({ mname: "gateway.lab.vmlan", rname: "hostmaster.lab.vmlan", minimum: TTL_SECONDS }) }]);
    }
    expect(soa(query("nope.lab.vmlan")).rcode).toBe("NXDOMAIN");
    expect(soa(query("web", "AAAA")).rcode).toBe("NOERROR");
  });

  test("reverse names: SOA of the subnet's reverse zone; other vmlan domains: SOA of vmlan", () => {
    expect(soa(query("99.0.5.10.in-addr.arpa", "PTR")).ns[0]).toMatchObject({ type: "SOA", name: "0.5.10.in-addr.arpa" });
    expect(soa(query("web.other.vmlan")).ns[0]).toMatchObject({ type: "SOA", name: "vmlan" });
  });

  test("an SOA query for the domain is answered with it; positive answers carry no SOA", () => {
    const { p } = reply(query("lab.vmlan", "SOA"));
    expect(p.answers!.map((a) => a.type)).toEqual(["SOA"]);
    expect(reply(query("web")).p.authorities ?? []).toEqual([]);
  });
});

describe("SERVFAIL", () => {
  test("keeps the question section and the id (and OPT when the query had one)", () => {
    const q = query("upstream.example", "AAAA", {});
    const p = dnsPacket.decode(Buffer.from(errorReply(q, RCODE.SERVFAIL))) as dnsPacket.DecodedPacket & { rcode: string };
    expect(p).toMatchObject({ id: 99, rcode: "SERVFAIL", type: "response", questions: [{ name: "upstream.example", type: "AAAA", class: "IN" }] });
    expect((p.additionals ?? []).map((a) => a.type)).toEqual(["OPT"]);
    const plain = dnsPacket.decode(Buffer.from(errorReply(query("x.example"), RCODE.SERVFAIL)));
    expect(plain.questions).toEqual([{ name: "x.example", type: "A", class: "IN" }]);
    expect(plain.additionals ?? []).toEqual([]);
  });
});
