/** Pure rtnetlink encoding/parsing: bytes checked by hand against <linux/netlink.h> rules. */
import { describe, expect, test } from "bun:test";
import {
  IFA_F_NODAD, IFLA_IFNAME, IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_MTU, NLA_F_NESTED, NLM_F_ACK, NLM_F_ACK_TLVS,
  NLM_F_REQUEST, NLMSG_ERROR, RTM_NEWLINK,
} from "../../../ffi/netlink/constants.ts";
import {
  align4, attr, attrNested, attrString, attrStringValue, attrU32, attrU32Value, ifaddr, ifinfo, message, parseAddr,
  parseAttrs, parseError, parseLink, parseMessages, parseRoute, rtm,
} from "../../../ffi/netlink/encode.ts";

const u32le = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];

describe("attributes", () => {
  test("a string attribute is length, type, NUL-terminated payload, padded to 4", () => {
    expect([...attrString(IFLA_IFNAME, "br0")]).toEqual([8, 0, 3, 0, 0x62, 0x72, 0x30, 0]);
    const a = attrString(IFLA_IFNAME, "vl-x"); // 4 + 5 = 9 → padded to 12, rta_len stays 9
    expect(a.length).toBe(12);
    expect(a[0]).toBe(9);
  });

  test("u32 attributes are host (little) endian", () => {
    expect([...attrU32(IFLA_MTU, 1500)]).toEqual([8, 0, 4, 0, ...u32le(1500)]);
  });

  test("nested attributes round-trip and the NLA_F_NESTED bit is masked when parsing", () => {
    const nested = attrNested(IFLA_LINKINFO, [attrString(IFLA_INFO_KIND, "bridge")]);
    const withFlag = nested.slice();
    withFlag[3] = withFlag[3]! | (NLA_F_NESTED >> 8);
    for (const b of [nested, withFlag]) {
      const outer = parseAttrs(b);
      const inner = parseAttrs(outer.get(IFLA_LINKINFO)!);
      expect(attrStringValue(inner.get(IFLA_INFO_KIND)!)).toBe("bridge");
    }
  });

  test("parsing stops at a truncated attribute instead of reading past the end", () => {
    const good = attrU32(IFLA_MTU, 9000);
    const broken = new Uint8Array([...good, 40, 0, 3, 0, 1, 2]);
    const m = parseAttrs(broken);
    expect(m.size).toBe(1);
    expect(attrU32Value(m.get(IFLA_MTU)!)).toBe(9000);
  });

  test("an empty payload attribute is 4 bytes", () => {
    expect([...attr(7, new Uint8Array(0))]).toEqual([4, 0, 7, 0]);
    expect(align4(5)).toBe(8);
  });
});

describe("messages", () => {
  test("a RTM_NEWLINK message has a correct nlmsghdr and round-trips", () => {
    const m = message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 42, [ifinfo({ index: 7, flags: 1, change: 1 }), attrString(IFLA_IFNAME, "br0")], 0);
    expect(m.length).toBe(16 + 16 + 8);
    expect([...m.subarray(0, 16)]).toEqual([...u32le(40), 16, 0, 5, 0, ...u32le(42), 0, 0, 0, 0]);
    const [p] = parseMessages(m);
    expect(p).toMatchObject({ type: RTM_NEWLINK, flags: 5, seq: 42, pid: 0 });
    const link = parseLink(p!.payload);
    expect(link).toMatchObject({ index: 7, flags: 1 });
    expect(attrStringValue(link.attrs.get(IFLA_IFNAME)!)).toBe("br0");
  });

  test("several messages in one datagram are split", () => {
    const a = message(1, 0, 1, [new Uint8Array(3)]);
    const b = message(3, 0, 2, []);
    const all = new Uint8Array([...a, ...b]);
    expect(parseMessages(all).map((m) => m.seq)).toEqual([1, 2]);
  });

  test("ifaddrmsg and rtmsg fields land where the kernel expects them", () => {
    const addr = ifaddr({ family: 10, prefixlen: 64, flags: IFA_F_NODAD, scope: 0, index: 3 });
    expect([...addr]).toEqual([10, 64, 2, 0, 3, 0, 0, 0]);
    expect(parseAddr(addr)).toMatchObject({ family: 10, prefixlen: 64, flags: 2, index: 3 });
    const r = rtm({ family: 2, dstLen: 24, table: 254, protocol: 2, scope: 253, type: 1 });
    expect([...r]).toEqual([2, 24, 0, 0, 254, 2, 253, 1, 0, 0, 0, 0]);
    expect(parseRoute(r)).toMatchObject({ family: 2, dstLen: 24, table: 254, scope: 253, type: 1 });
  });
});

describe("error acks", () => {
  const request = message(RTM_NEWLINK, NLM_F_REQUEST, 9, [ifinfo({})]);

  test("a plain ack is errno 0; an error carries the negated errno", () => {
    const ack = (err: number) => message(NLMSG_ERROR, 0, 9, [new Uint8Array(u32le(err >>> 0)), request]);
    expect(parseError(parseMessages(ack(0))[0]!).errno).toBe(0);
    expect(parseError(parseMessages(ack(-17))[0]!).errno).toBe(17);
  });

  test("the extended-ack text after the echoed request is returned", () => {
    const err = message(NLMSG_ERROR, NLM_F_ACK_TLVS, 9, [new Uint8Array(u32le(-95 >>> 0)), request, attrString(1, "Unknown device type")]);
    expect(parseError(parseMessages(err)[0]!)).toEqual({ errno: 95, text: "Unknown device type" });
  });
});
