/** The DHCP codec (src/services/dhcp/wire.ts): bytes as RFC 2131/2132 lay them out, and every way a packet can be bad. */
import { describe, expect, test } from "bun:test";
import {
  BOOTREPLY, DhcpParseError, encodeDhcp, FLAG_BROADCAST, HEADER_LEN, MAGIC_COOKIE, MessageType, MIN_REPLY_LEN, Opt, optIp, optString,
  optU16, optU32, parseDhcp, parseOptions, prefixMask, readIp, readString,
} from "../../../src/services/dhcp/wire.ts";
import { buildRequest } from "./dhcp-packets.ts";

describe("parseDhcp", () => {
  test("reads the header, the client MAC and every option", () => {
    const m = parseDhcp(buildRequest({ type: MessageType.REQUEST, mac: "02:aa:bb:cc:dd:ee", xid: 0x01020304, flags: FLAG_BROADCAST, options: [[Opt.REQUESTED_IP, optIp("10.0.0.7")], [Opt.HOSTNAME, optString("web\0")]] }));
    expect(m).toMatchObject({ op: 1, xid: 0x01020304, flags: FLAG_BROADCAST, chaddr: "02:aa:bb:cc:dd:ee", type: MessageType.REQUEST, ciaddr: "0.0.0.0" });
    expect(readIp(m, Opt.REQUESTED_IP)).toBe("10.0.0.7");
    expect(readString(m, Opt.HOSTNAME)).toBe("web"); // trailing NUL some clients send is dropped
    expect(readIp(m, Opt.SERVER_ID)).toBeNull();
  });

  test("PAD is skipped, repeated options are concatenated (RFC 3396), END stops the walk", () => {
    const opts = parseOptions(Uint8Array.of(0, 0, 12, 2, 0x61, 0x62, 12, 1, 0x63, 255, 12, 1, 0x7a));
    expect(new TextDecoder().decode(opts.get(12))).toBe("abc");
  });

  const bad: Array<[string, () => Uint8Array]> = [
    ["empty", () => new Uint8Array(0)],
    ["shorter than header + cookie", () => buildRequest({ type: 1 }).subarray(0, HEADER_LEN + 3)],
    ["a reply (op 2)", () => { const b = buildRequest({ type: 1 }); b[0] = BOOTREPLY; return b; }],
    ["not Ethernet", () => { const b = buildRequest({ type: 1 }); b[1] = 6; return b; }],
    ["no magic cookie", () => { const b = buildRequest({ type: 1 }); b[HEADER_LEN] = 0; return b; }],
    ["no message type", () => buildRequest({})],
    ["message type 9", () => buildRequest({ type: 9 })],
    ["option running past the end", () => { const b = buildRequest({ type: 1 }); const cut = b.subarray(0, HEADER_LEN + 4 + 3 + 2); cut[cut.length - 2] = 12; cut[cut.length - 1] = 40; return cut; }],
    ["option without a length byte", () => { const b = buildRequest({ type: 1 }).subarray(0, HEADER_LEN + 4 + 3 + 1); b[b.length - 1] = 12; return b; }],
  ];
  for (const [name, make] of bad) {
    test(`rejects ${name} with DhcpParseError`, () => {
      expect(() => parseDhcp(make())).toThrow(DhcpParseError);
    });
  }

  test("random bytes never throw anything but DhcpParseError", () => {
    for (let i = 0; i < 2000; i++) {
      const b = crypto.getRandomValues(new Uint8Array(Math.floor(Math.random() * 600)));
      if (i % 2 === 0 && b.length >= 240) { b[0] = 1; b[1] = 1; b[2] = 6; new DataView(b.buffer).setUint32(HEADER_LEN, MAGIC_COOKIE); }
      try {
        parseDhcp(b);
      } catch (e) {
        expect(e).toBeInstanceOf(DhcpParseError);
      }
    }
  });
});

describe("encodeDhcp", () => {
  const reply = {
    type: MessageType.ACK, xid: 0xdeadbeef, flags: FLAG_BROADCAST, ciaddr: "0.0.0.0", yiaddr: "192.168.64.5", siaddr: "0.0.0.0", giaddr: "0.0.0.0",
    chaddr: "02:aa:bb:cc:dd:ee", options: [[Opt.SERVER_ID, optIp("192.168.64.1")], [Opt.LEASE_TIME, optU32(3600)], [Opt.INTERFACE_MTU, optU16(1400)], [Opt.DOMAIN_NAME, optString("lab.vmlan")]] as Array<[number, Uint8Array]>,
  };

  test("writes the RFC 2131 layout: op 2, xid, flags, yiaddr, chaddr, cookie, option 53 first, END, >= 300 bytes", () => {
    const b = encodeDhcp(reply);
    const dv = new DataView(b.buffer);
    expect(b.length).toBe(MIN_REPLY_LEN);
    expect([b[0], b[1], b[2]]).toEqual([2, 1, 6]);
    expect(dv.getUint32(4)).toBe(0xdeadbeef);
    expect(dv.getUint16(10)).toBe(FLAG_BROADCAST);
    expect([...b.subarray(16, 20)]).toEqual([192, 168, 64, 5]);
    expect([...b.subarray(28, 34)]).toEqual([2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee]);
    expect(dv.getUint32(HEADER_LEN)).toBe(MAGIC_COOKIE);
    expect([...b.subarray(240, 243)]).toEqual([53, 1, MessageType.ACK]);
    expect([...b.subarray(243, 249)]).toEqual([54, 4, 192, 168, 64, 1]);
    const opts = parseOptions(b.subarray(240));
    expect([...opts.get(Opt.LEASE_TIME)!]).toEqual([0, 0, 0x0e, 0x10]);
    expect([...opts.get(Opt.INTERFACE_MTU)!]).toEqual([0x05, 0x78]);
    expect(new TextDecoder().decode(opts.get(Opt.DOMAIN_NAME))).toBe("lab.vmlan");
  });

  test("round trip through the parser once the op is flipped", () => {
    const b = encodeDhcp(reply);
    b[0] = 1;
    const m = parseDhcp(b);
    expect(m).toMatchObject({ xid: 0xdeadbeef, yiaddr: "192.168.64.5", chaddr: "02:aa:bb:cc:dd:ee", type: MessageType.ACK });
  });

  test("refuses an option value over 255 bytes", () => {
    expect(() => encodeDhcp({ ...reply, options: [[Opt.DOMAIN_NAME, new Uint8Array(256)]] })).toThrow(RangeError);
  });

  test("prefixMask", () => {
    expect([prefixMask(24), prefixMask(30), prefixMask(16), prefixMask(0), prefixMask(32)]).toEqual(["255.255.255.0", "255.255.255.252", "255.255.0.0", "0.0.0.0", "255.255.255.255"]);
  });
});
