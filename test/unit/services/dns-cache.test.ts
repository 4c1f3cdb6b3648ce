/**
 * The message walk (dns/wire.ts) and the cache of forwarded answers (dns/cache.ts): TTLs honoured
 * and counted down, negative answers by their SOA, per-client id/RD/case, bounded entries and bytes.
 */
import { describe, expect, test } from "bun:test";
import dnsPacket from "dns-packet";
import { AnswerCache, MAX_TTL_SECONDS } from "../../../src/services/dns/cache.ts";
import { readName, scanMessage } from "../../../src/services/dns/wire.ts";

const enc = (p: dnsPacket.Packet) => new Uint8Array(dnsPacket.encode(p));
const query = (name: string, id = 1, extra: Partial<dnsPacket.Packet> = {}) =>
  enc({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name, class: "IN" }], ...extra });
const answerTo = (name: string, ttl: number, id = 1) =>
  enc({ type: "response", id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE, questions: [{ type: "A", name, class: "IN" }], answers: [{ type: "A", name, ttl, class: "IN", data: "203.0.113.9" }] });
const nxdomain = (name: string, soaTtl: number, minimum: number) => enc({
  type: "response", id: 1, flags: 0x8183, questions: [{ type: "A", name, class: "IN" }],
  authorities: [{ type: "SOA", name: "example", ttl: soaTtl, class: "IN", data: { mname: "ns.example", rname: "h.example", serial: 1, refresh: 1, retry: 1, expire: 1, minimum } }],
});

describe("scanMessage", () => {
  test("question, TTL offsets, SOA negative TTL, OPT; names with compression", () => {
    const s = scanMessage(answerTo("Web.Example", 300))!;
    expect(s).toMatchObject({ qname: "web.example", qtype: 1, qclass: 1, minTtl: 300, opt: null });
    expect(s.ttlAt).toHaveLength(1);
    expect(scanMessage(nxdomain("x.example", 900, 60))!.soaNegativeTtl).toBe(60);
    const withOpt = scanMessage(query("a.example", 1, { additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1400, flags: 0x8000 } as unknown as dnsPacket.Answer] }))!;
    expect(withOpt.opt).toMatchObject({ udpSize: 1400, version: 0, dnssecOk: true });
  });

  test("garbage, loops and truncation give null, never a throw", () => {
    expect(readName(Uint8Array.of(0xc0, 0x00), 0)).toBeNull(); // a pointer to itself
    const good = answerTo("web.example", 5);
    for (let cut = 0; cut < good.length; cut++) expect(() => scanMessage(good.subarray(0, cut))).not.toThrow();
    expect(scanMessage(good.subarray(0, good.length - 1))).toBeNull();
    for (let i = 0; i < 5000; i++) scanMessage(crypto.getRandomValues(new Uint8Array(Math.floor(Math.random() * 120))));
  });
});

describe("AnswerCache", () => {
  const setup = (maxEntries = 4096, maxBytes = 4 << 20) => {
    let now = 1_000_000;
    const c = new AnswerCache(maxEntries, maxBytes, () => now);
    return { c, advance: (s: number) => { now += s * 1000; } };
  };
  const get = (c: AnswerCache, q: Uint8Array) => c.get(q, scanMessage(q)!, true);

  test("a hit has the client's id, RD bit and letter case, and TTLs counted down; it ends with its TTL", () => {
    const { c, advance } = setup();
    c.put(scanMessage(query("web.example"))!, answerTo("web.example", 30));
    advance(12);
    const q = query("WEB.example", 777);
    q[2] = q[2]! & ~1; // RD off
    const hit = dnsPacket.decode(Buffer.from(get(c, q)!));
    expect(hit).toMatchObject({ id: 777, flag_rd: false, questions: [{ name: "WEB.example" }] });
    expect((hit.answers![0] as { ttl: number }).ttl).toBe(18);
    advance(19);
    expect(get(c, query("web.example"))).toBeNull();
  });

  test("NXDOMAIN is kept for the SOA's min(TTL, MINIMUM); without an SOA, not at all", () => {
    const { c, advance } = setup();
    c.put(scanMessage(query("no.example"))!, nxdomain("no.example", 900, 20));
    advance(19);
    expect(get(c, query("no.example"))).not.toBeNull();
    advance(2);
    expect(get(c, query("no.example"))).toBeNull();
    c.put(scanMessage(query("bare.example"))!, enc({ type: "response", id: 1, flags: 0x8183, questions: [{ type: "A", name: "bare.example", class: "IN" }] }));
    expect(c.size).toBe(0);
  });

  test("nothing longer than two hours; TTL 0, truncated answers and SERVFAIL are not kept; another question is no hit", () => {
    const { c, advance } = setup();
    c.put(scanMessage(query("long.example"))!, answerTo("long.example", 86400));
    advance(MAX_TTL_SECONDS + 1);
    expect(get(c, query("long.example"))).toBeNull();
    c.put(scanMessage(query("zero.example"))!, answerTo("zero.example", 0));
    const tc = answerTo("tc.example", 60);
    tc[2] = tc[2]! | 0x02;
    c.put(scanMessage(query("tc.example"))!, tc);
    const fail = answerTo("fail.example", 60);
    fail[3] = (fail[3]! & 0xf0) | 2;
    c.put(scanMessage(query("fail.example"))!, fail);
    expect(c.size).toBe(0);
    c.put(scanMessage(query("a.example"))!, answerTo("b.example", 60)); // an answer to another question
    expect(c.size).toBe(0);
  });

  test("an EDNS client and a plain one never share an entry", () => {
    const { c } = setup();
    c.put(scanMessage(query("web.example"))!, answerTo("web.example", 60));
    const edns = query("web.example", 2, { additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1232 } as unknown as dnsPacket.Answer] });
    expect(c.get(edns, scanMessage(edns)!, true)).toBeNull();
  });

  test("bounded: entries and bytes, least recently used out first", () => {
    const { c } = setup(100, 1 << 30);
    for (let i = 0; i < 1000; i++) c.put(scanMessage(query(`n${i}.example`))!, answerTo(`n${i}.example`, 600));
    expect(c.size).toBe(100);
    expect(get(c, query("n0.example"))).toBeNull();
    expect(get(c, query("n999.example"))).not.toBeNull();
    const small = setup(100_000, 64 * 1024).c;
    for (let i = 0; i < 10_000; i++) small.put(scanMessage(query(`n${i}.example`))!, answerTo(`n${i}.example`, 600));
    expect(small.bytes).toBeLessThanOrEqual(64 * 1024);
  });
});
