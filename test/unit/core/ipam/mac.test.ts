import { expect, test } from "bun:test";
import { macFor, parseMac } from "../../../../src/core/ipam/mac.ts";
import { addressV6For } from "../../../../src/core/ipam/ipv6.ts";
import { parseSubnetV6 } from "../../../../src/core/ipam/subnet.ts";

test("MACs are stable, locally administered unicast, and differ per network and id", () => {
  const a = macFor("default", "vm1");
  expect(macFor("default", "vm1")).toBe(a);
  const first = parseInt(a.slice(0, 2), 16);
  expect(first & 0x02).toBe(0x02);
  expect(first & 0x01).toBe(0);
  expect(macFor("default", "vm2")).not.toBe(a);
  expect(macFor("other", "vm1")).not.toBe(a);
  // The derivation never changes (stores hold MACs made by earlier versions): sha256 as Node computes it.
  expect(a).toBe("ea:e5:6b:59:b4:f1");
});

test("user MACs are normalised and validated", () => {
  expect(parseMac("52-54-00-AB-CD-EF")).toBe("52:54:00:ab:cd:ef");
  expect(() => parseMac("01:00:5e:00:00:01")).toThrow(/multicast/);
  expect(() => parseMac("00:00:00:00:00:00")).toThrow(/all zeros/);
  expect(() => parseMac("52:54:00:zz:00:00")).toThrow(/invalid MAC address "52:54:00:zz:00:00"/);
});

test("IPv6 address is prefix + modified EUI-64 of the MAC (RFC 4291)", () => {
  expect(addressV6For(parseSubnetV6("fd00:1::/64"), "52:54:00:12:34:56")).toBe("fd00:1::5054:ff:fe12:3456");
});
