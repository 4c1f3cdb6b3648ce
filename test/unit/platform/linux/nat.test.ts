/** The nft script is built from validated values only; routes overlap as prefixes do. */
import { describe, expect, test } from "bun:test";
import { networkScript, networkTeardownScript, skeletonScript } from "../../../../src/platform/linux/nat-rules.ts";
import { findConflict, type Route } from "../../../../src/platform/linux/routes.ts";
import { parseNetwork } from "../../../../src/platform/linux/ip.ts";
import { UsageError } from "../../../../src/core/errors.ts";

const shared = { bridge: "vl-default", mode: "shared" as const, subnet: "192.168.64.0/24", subnetV6: "fd00:1::/64" };
const rulesOf = (s: string, chain: string) => s.split("\n").filter((l) => l.startsWith(`add rule inet vmlan ${chain} `)).map((l) => l.slice(`add rule inet vmlan ${chain} `.length));

describe("skeletonScript", () => {
  test("one table whose base chains only dispatch by interface, rewritten in place", () => {
    const s = skeletonScript();
    expect(s.startsWith("add table inet vmlan\n")).toBe(true);
    expect(s).not.toContain("delete");
    expect(rulesOf(s, "forward")).toEqual(["iifname vmap @fwd_from", "oifname vmap @fwd_to"]);
    expect(rulesOf(s, "postrouting")).toEqual(["iifname vmap @snat_from"]);
    expect(rulesOf(s, "guard")).toEqual(["iifname vmap @guard_from"]);
    expect(s.indexOf("flush chain inet vmlan forward")).toBeLessThan(s.indexOf("add rule inet vmlan forward"));
  });
});

describe("networkScript", () => {
  test("shared mode masquerades both families and isolates the bridge, in chains of its own", () => {
    const s = networkScript(shared);
    // Only the network's own chains and elements: never the table, never another network, never its ports.
    expect(s).not.toMatch(/delete table|flush table|add table|ports_/);
    expect(s.split("\n").filter((l) => l).every((l) => l.includes("vl-default"))).toBe(true);
    expect(rulesOf(s, "snat_vl-default")).toEqual(["ip saddr 192.168.64.0/24 ip daddr != 192.168.64.0/24 masquerade", "ip6 saddr fd00:1::/64 ip6 daddr != fd00:1::/64 masquerade"]);
    // Published ports are let through before the drops, both ways; networks never reach each other.
    expect(rulesOf(s, "from_vl-default")).toEqual([`oifname "vl-default" accept`, "ct status dnat accept", `oifname "vl-*" drop`]);
    expect(rulesOf(s, "to_vl-default")).toEqual(["ct status dnat accept", "ct state established,related accept", "drop"]);
    expect(rulesOf(s, "guard_vl-default")).toEqual(["ip daddr 127.0.0.0/8 counter drop", "ip saddr 127.0.0.0/8 counter drop"]);
    expect(s).toContain(`add element inet vmlan fwd_from { "vl-default" : jump from_vl-default }`);
    expect(s).toContain(`add element inet vmlan snat_from { "vl-default" : jump snat_vl-default }`);
  });

  test("host mode has no NAT and drops everything forwarded in or out", () => {
    const s = networkScript({ ...shared, mode: "host", subnetV6: null });
    expect(s).not.toContain("masquerade");
    // A shared network made host-only loses its NAT: the element, then the chain (absent ones are fine).
    expect(s).toContain(`add element inet vmlan snat_from { "vl-default" : jump snat_vl-default }\ndelete element inet vmlan snat_from { "vl-default" }`);
    expect(s).toContain("delete chain inet vmlan snat_vl-default");
    expect(rulesOf(s, "from_vl-default").at(-1)).toBe("drop");
    expect(rulesOf(s, "to_vl-default").at(-1)).toBe("drop");
  });

  test("teardown takes the network's chains, elements and port chains, and nothing else", () => {
    const s = networkTeardownScript("vl-x");
    expect(s).not.toMatch(/table|add rule/);
    for (const c of ["from", "to", "snat", "guard", "ports_pre", "ports_out", "ports_post"]) expect(s).toContain(`delete chain inet vmlan ${c}_vl-x\n`);
    for (const m of ["fwd_from", "fwd_to", "snat_from", "guard_from"]) expect(s).toContain(`delete element inet vmlan ${m} { "vl-x" }`);
  });

  test("bad names, CIDRs and modes never reach a script", () => {
    expect(() => networkScript({ ...shared, bridge: `vl-a"; flush ruleset` })).toThrow(UsageError);
    expect(() => networkScript({ ...shared, bridge: "a-very-long-interface" })).toThrow(UsageError);
    expect(() => networkScript({ ...shared, subnet: "192.168.64.1/24" })).toThrow("host bits set");
    expect(() => networkScript({ ...shared, subnet: "10.0.0.0/24; flush ruleset" })).toThrow('invalid CIDR "10.0.0.0/24; flush ruleset"');
    expect(() => networkScript({ ...shared, mode: "routed" as "host" })).toThrow('invalid network mode "routed"');
    expect(() => networkTeardownScript(`x"; flush`)).toThrow(UsageError);
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
