/** The nft script is built from validated values only; routes overlap as prefixes do. */
import { describe, expect, test } from "bun:test";
import { natScript, natTableName, teardownScript } from "../../../../src/platform/linux/nat.ts";
import { findConflict, type Route } from "../../../../src/platform/linux/routes.ts";
import { parseNetwork } from "../../../../src/platform/linux/ip.ts";
import { UsageError } from "../../../../src/core/errors.ts";

const shared = { bridge: "vl-default", mode: "shared" as const, subnet: "192.168.64.0/24", subnetV6: "fd00:1::/64" };

describe("natScript", () => {
  test("shared mode masquerades both families and isolates the bridge", () => {
    const s = natScript(shared);
    // The network's own chains are replaced, never the table: the published ports' chains survive.
    expect(s.startsWith("add table inet vmlan_vl-default\nadd chain inet vmlan_vl-default forward {")).toBe(true);
    expect(s).not.toContain("delete table");
    expect(s).toContain("flush chain inet vmlan_vl-default forward");
    expect(s).toContain("ip saddr 192.168.64.0/24 ip daddr != 192.168.64.0/24 masquerade");
    expect(s).toContain("ip6 saddr fd00:1::/64 ip6 daddr != fd00:1::/64 masquerade");
    expect(s).toContain(`oifname "vl-default" ct state established,related accept`);
    expect(s).toContain(`iifname "vl-default" oifname "vl-*" drop`);
    // Published ports are let through before the drops, both ways; guests never reach 127.0.0.0/8.
    expect(s.indexOf(`oifname "vl-default" ct status dnat accept`)).toBeLessThan(s.indexOf(`oifname "vl-default" drop`));
    expect(s).toContain(`guard iifname "vl-default" ip daddr 127.0.0.0/8 counter drop`);
  });

  test("host mode has no NAT and drops everything forwarded in or out", () => {
    const s = natScript({ ...shared, mode: "host", subnetV6: null });
    expect(s).not.toContain("masquerade");
    expect(s).toContain("delete chain inet vmlan_vl-default postrouting"); // a shared network made host-only loses its NAT
    expect(s).toContain(`iifname "vl-default" drop`);
    expect(s).toContain(`oifname "vl-default" drop`);
  });

  test("bad names, CIDRs and modes never reach a script", () => {
    expect(() => natScript({ ...shared, bridge: `vl-a"; flush ruleset` })).toThrow(UsageError);
    expect(() => natScript({ ...shared, bridge: "a-very-long-interface" })).toThrow(UsageError);
    expect(() => natScript({ ...shared, subnet: "192.168.64.1/24" })).toThrow("host bits set");
    expect(() => natScript({ ...shared, subnet: "10.0.0.0/24; flush ruleset" })).toThrow('invalid CIDR "10.0.0.0/24; flush ruleset"');
    expect(() => natScript({ ...shared, mode: "routed" as "host" })).toThrow('invalid network mode "routed"');
    expect(natTableName("vl-a.b")).toBe("vmlan_vl-a.b");
    expect(teardownScript("vl-x")).toBe("add table inet vmlan_vl-x\ndelete table inet vmlan_vl-x\n");
  });
});

describe("findConflict", () => {
  const route = (cidr: string, device: string | null): Route => ({ dst: parseNetwork(cidr), oif: 1, device });
  const routes = [route("0.0.0.0/0", "eth0"), route("10.0.0.0/8", "eth1"), route("192.168.64.0/24", "vl-default"), route("fd00::/8", "wg0")];

  test("default routes and our own bridge are ignored; any overlap elsewhere is reported", () => {
    expect(findConflict(routes, parseNetwork("172.16.0.0/24"), "vl-new")).toBeNull();
    expect(findConflict(routes, parseNetwork("192.168.64.0/24"), "vl-default")).toBeNull();
    expect(findConflict(routes, parseNetwork("192.168.64.0/25"), "vl-new")?.device).toBe("vl-default");
    expect(findConflict(routes, parseNetwork("10.1.2.0/24"), "vl-new")?.dst.text).toBe("10.0.0.0/8");
    expect(findConflict(routes, parseNetwork("0.0.0.0/1"), "vl-new")?.dst.text).toBe("10.0.0.0/8");
    expect(findConflict(routes, parseNetwork("fd12::/64"), "vl-new")?.device).toBe("wg0");
    expect(findConflict(routes, parseNetwork("fe80::/64"), "vl-new")).toBeNull();
  });
});
