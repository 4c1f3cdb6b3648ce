import { describe, expect, test } from "bun:test";
import { parseSubnetV4, parseSubnetV6, overlapsV4, overlapsV6, gatewayV4, firstHostV4, lastHostV4, intToV4, gatewayV6 } from "../../../../src/core/ipam/subnet.ts";
import { UsageError } from "../../../../src/core/errors.ts";

describe("IPv4 subnets", () => {
  test("gateway is subnet+1, guests from +2 to broadcast-1", () => {
    const s = parseSubnetV4("192.168.64.0/24");
    expect(intToV4(gatewayV4(s))).toBe("192.168.64.1");
    expect(intToV4(firstHostV4(s))).toBe("192.168.64.2");
    expect(intToV4(lastHostV4(s))).toBe("192.168.64.254");
  });
  test("/30 has exactly one guest address", () => {
    const s = parseSubnetV4("10.0.0.4/30");
    expect(lastHostV4(s) - firstHostV4(s) + 1).toBe(1);
  });
  test.each([
    ["10.0.0.0/31", /no room for a gateway/],
    ["10.0.0.1/32", /no room for a gateway/],
    ["10.0.0.1/24", /host bits are set; did you mean 10.0.0.0\/24/],
    ["300.0.0.0/24", /expected an IPv4 CIDR/],
    ["10.0.0.0", /expected an IPv4 CIDR/],
    ["10.0.0.0/33", /over 32/],
    ["10.0.0.0/4", /larger than vmlan supports/],
  ])("rejects %s with a reason", (cidr, reason) => {
    expect(() => parseSubnetV4(cidr)).toThrow(reason);
    expect(() => parseSubnetV4(cidr)).toThrow(UsageError);
  });
  test("overlap", () => {
    expect(overlapsV4(parseSubnetV4("10.0.0.0/16"), parseSubnetV4("10.0.5.0/24"))).toBe(true);
    expect(overlapsV4(parseSubnetV4("10.0.0.0/24"), parseSubnetV4("10.0.1.0/24"))).toBe(false);
    expect(overlapsV4(parseSubnetV4("10.0.0.252/30"), parseSubnetV4("10.0.1.0/30"))).toBe(false);
  });
});

describe("IPv6 prefixes", () => {
  test("canonical form and gateway", () => {
    const s = parseSubnetV6("FD00:0001::/64");
    expect(s.cidr).toBe("fd00:1::/64");
    expect(gatewayV6(s)).toBe("fd00:1::1");
  });
  test("rejects prefixes longer than /64 (EUI-64 needs 64 bits) and host bits", () => {
    expect(() => parseSubnetV6("fd00::/80")).toThrow(/EUI-64/);
    expect(() => parseSubnetV6("fd00::1/64")).toThrow(/host bits/);
    expect(() => parseSubnetV6("10.0.0.0/8")).toThrow(/IPv4/);
    expect(() => parseSubnetV6("nope")).toThrow(/expected a CIDR/);
  });
  test("overlap", () => {
    expect(overlapsV6(parseSubnetV6("fd00::/48"), parseSubnetV6("fd00:0:0:5::/64"))).toBe(true);
    expect(overlapsV6(parseSubnetV6("fd00:1::/64"), parseSubnetV6("fd00:2::/64"))).toBe(false);
  });
});
