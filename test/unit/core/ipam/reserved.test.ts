import { describe, expect, test } from "bun:test";
import { requestedSubnet, reservedReason } from "../../../../src/core/ipam/reserved.ts";
import { UsageError } from "../../../../src/core/errors.ts";

const refused: [string, string][] = [
  ["224.0.0.0/24", "multicast"], ["239.255.0.0/16", "multicast"], ["127.0.0.0/8", "loopback"], ["127.1.2.0/24", "loopback"],
  ["169.254.0.0/16", "link-local"], ["169.254.7.0/24", "link-local"], ["0.0.0.0/8", "this network"], ["0.1.2.0/24", "this network"],
  ["240.0.0.0/8", "future use"], ["255.255.255.0/24", "broadcast"], ["192.0.0.0/24", "IETF"],
  ["192.88.99.0/24", "6to4"], ["192.175.48.0/24", "AS112"], ["192.0.0.0/8", "IETF"],
  ["ff02::/64", "multicast"], ["ff00::/16", "multicast"], ["::/64", "loopback"], ["::ffff:0:0/96", "IPv4-mapped"],
  ["fe80::/64", "link-local"], ["fe80::/16", "link-local"], ["fec0::/64", "site-local"],
  ["64:ff9b::/64", "NAT64"], ["1::/64", "2000::/3"], ["2002::/64", "6to4"], ["2001::/32", "Teredo"], ["2001:10::/64", "ORCHID"], ["5f00::/64", "segment routing"],
  ["4000::/16", "2000::/3"],
];
const allowed = [
  "10.0.0.0/8", "172.16.0.0/12", "192.168.64.0/24", "100.64.0.0/10", "8.8.8.0/24", "223.255.255.0/24", "1.0.0.0/24",
  "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "198.18.0.0/15", "169.253.0.0/16", "126.0.0.0/8",
  "fd00:1::/64", "fc00::/16", "2001:db8::/32", "2001:db8:1::/64", "3fff::/20", "2001:2::/48", "2a00:1450::/32", "2001:200::/23",
];

describe("reserved ranges", () => {
  test.each(refused)("%s is refused (%s)", (cidr, why) => {
    const r = reservedReason(cidr);
    expect(r).not.toBeNull();
    expect(r!).toContain(why);
  });
  test.each(allowed)("%s is allowed (private, public unicast, documentation, benchmarking)", (cidr) => {
    expect(reservedReason(cidr)).toBeNull();
  });
  test("requestedSubnet names the value, the range and what to use instead", () => {
    const e = (() => { try { requestedSubnet("224.1.0.0/16", "v4"); } catch (x) { return x; } })() as UsageError;
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toBe(`invalid subnet "224.1.0.0/16": it overlaps 224.0.0.0/4, multicast (RFC 5771); use a private range such as 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16`);
    expect(() => requestedSubnet("fe80::/64", "v6")).toThrow(`invalid IPv6 prefix "fe80::/64": it overlaps fe80::/10, link-local (RFC 4291); use a unique local prefix such as fd00:1::/64`);
    expect(requestedSubnet("fd00:0001::/64", "v6")).toBe("fd00:1::/64");
  });
});
