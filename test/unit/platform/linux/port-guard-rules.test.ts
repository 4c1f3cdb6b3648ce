/**
 * The anti-spoofing rules as text (src/platform/linux/port-guard-rules.ts): what a learning port,
 * a pinned port and a port with a lease get, that values are validated before they are written
 * into the script, that removal works from the ifindex alone, and that every object a network or
 * a port has in the one table is named by its bridge (so nothing of another's is touched). The kernel side (what nft accepts
 * and what it drops) is test/integration/helper/anti-spoofing.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { networkTeardownScript, parsePortChain, portScript, removePortScript, tableScript } from "../../../../src/platform/linux/port-guard-rules.ts";

const lease = { mac: "02:00:00:00:00:05", ipv4: "10.0.0.5", ipv6: ["fe80::ff:fe00:5", "fd00::ff:fe00:5"] };
const rules = (script: string) => script.split("\n").filter((l) => l.startsWith("add rule ")).map((l) => l.replace(/^add rule bridge vmlan port_vl-a_7 /, ""));

describe("port guard rules", () => {
  test("a learning port without a lease: MAC rules only, learning after the claimed check", () => {
    const r = rules(portScript("vl-a", { ifindex: 7, mac: null, lease: null }));
    expect(r).toEqual([
      "ether saddr & 01:00:00:00:00:00 == 01:00:00:00:00:00 drop",
      "ether type != @ethertypes drop",
      "ether saddr @claimed_vl-a drop",
      "add @mac_vl-a_7 { ether saddr }",
      "ether saddr != @mac_vl-a_7 drop",
      "arp saddr ether != @mac_vl-a_7 drop",
      "udp sport @dhcp_servers drop",
      "icmpv6 type @router_msgs drop",
    ]);
  });

  test("a pinned port with a lease: its MAC claimed, DHCP only for the lease's MAC, sources only the lease's", () => {
    const s = portScript("vl-a", { ifindex: 7, mac: lease.mac, lease }, "02:00:00:00:00:09");
    expect(s).toContain("delete element bridge vmlan claimed_vl-a { 02:00:00:00:00:09 }"); // the MAC it was pinned to before
    expect(s).toContain("add element bridge vmlan claimed_vl-a { 02:00:00:00:00:05 }");
    const r = rules(s);
    expect(r).not.toContain("add @mac_vl-a_7 { ether saddr }");
    expect(r).toContain("ether saddr != 02:00:00:00:00:05 drop"); // pinned: the MAC is a value, the learning set goes
    expect(r).toContain("arp saddr ether != 02:00:00:00:00:05 drop");
    expect(s).toMatch(/flush chain bridge vmlan port_vl-a_7\n[^]*delete set bridge vmlan mac_vl-a_7\n/);
    expect(r).toContain("arp saddr ip != 10.0.0.5 arp saddr ip != 0.0.0.0 drop");
    expect(r).toContain("ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 ether saddr 02:00:00:00:00:05 @ih,224,48 0x020000000005 accept");
    expect(r.indexOf("ip saddr != 10.0.0.5 drop")).toBeGreaterThan(r.findIndex((l) => l.startsWith("ip saddr 0.0.0.0")));
    expect(r).toContain("ip6 saddr != fe80::ff:fe00:5 ip6 saddr != fd00::ff:fe00:5 drop");
    expect(r).toContain("ip6 saddr :: icmpv6 type @unspecified_msgs accept");
    expect(s.trimEnd().split("\n").at(-1)).toBe("add element bridge vmlan ports { 7 : jump port_vl-a_7 }");
  });

  test("a network's static space (outside its pool) is allowed too, as ranges", () => {
    const r = rules(portScript("vl-a", { ifindex: 7, mac: null, lease: { ...lease, static: ["10.0.0.51-10.0.0.254"] } }));
    expect(r).toContain("ip saddr != 10.0.0.5 ip saddr != 10.0.0.51-10.0.0.254 drop");
    expect(r).toContain("arp saddr ip != 10.0.0.5 arp saddr ip != 10.0.0.51-10.0.0.254 arp saddr ip != 0.0.0.0 drop");
    expect(() => portScript("vl-a", { ifindex: 7, mac: null, lease: { ...lease, static: ["10.0.0.1-10.0.0.2-10.0.0.3"] } })).toThrow(/range/);
  });

  test("a lease without IPv6 addresses: IPv6 only from :: (never an empty set, which nft refuses)", () => {
    const r = rules(portScript("vl-a", { ifindex: 7, mac: null, lease: { ...lease, ipv6: [] } }));
    expect(r).toContain("ether type ip6 drop");
    expect(r.join("\n")).not.toContain("{  }");
  });

  test("nothing unvalidated reaches the script", () => {
    expect(() => portScript("vl-a", { ifindex: 7, mac: "02:00:00:00:00:05; flush ruleset", lease: null })).toThrow(/invalid MAC/);
    expect(() => portScript("vl-a", { ifindex: 7, mac: null, lease: { ...lease, ipv4: "10.0.0.5 } accept; {" } })).toThrow();
    expect(() => portScript("vl-a", { ifindex: 7, mac: null, lease: { ...lease, ipv6: ["10.0.0.5"] } })).toThrow(/IPv6/);
    expect(() => portScript("vl-a", { ifindex: 0, mac: null, lease: null })).toThrow(/interface index/);
    expect(() => portScript("vl a", { ifindex: 7, mac: null, lease: null })).toThrow();
  });

  test("the table is created without touching its ports; removal needs only the ifindex", () => {
    expect(tableScript("vl-a")).not.toMatch(/flush (set|map)|delete/);
    const r = removePortScript("vl-a", 7, "02:00:00:00:00:05");
    expect(r).toContain("delete element bridge vmlan ports { 7 : jump port_vl-a_7 }");
    expect(r).toContain("delete chain bridge vmlan port_vl-a_7");
    expect(r).toContain("delete set bridge vmlan mac_vl-a_7");
    expect(r).toContain("delete element bridge vmlan claimed_vl-a { 02:00:00:00:00:05 }");
  });

  test("one table for every network: a port's and a network's objects are named by the bridge, and nothing else is touched", () => {
    const objects = (script: string) => script.split("\n").filter((l) => l).map((l) => l.split(" ").slice(0, 5).join(" "));
    for (const line of objects(portScript("vl-a", { ifindex: 7, mac: lease.mac, lease }) + removePortScript("vl-a", 7, lease.mac))) {
      expect(line).toMatch(/^(add|flush|delete) (set|chain|element|rule|map) bridge vmlan (mac_vl-a_7|port_vl-a_7|claimed_vl-a|ports)( |$)/);
    }
    // The shared parts: the skeleton (its base chain refilled with its one rule) and the network's set.
    expect(tableScript("vl-a").split("\n").filter((l) => l)).toEqual([
      "add table bridge vmlan",
      "add map bridge vmlan ports { type iface_index : verdict; }",
      "add set bridge vmlan ethertypes { type ether_type; }",
      "add element bridge vmlan ethertypes { ip, arp, ip6, 0x8035 }",
      "add set bridge vmlan dhcp_servers { type inet_service; }",
      "add element bridge vmlan dhcp_servers { 67, 547 }",
      "add set bridge vmlan router_msgs { type icmpv6_type; }",
      "add element bridge vmlan router_msgs { nd-router-advert, nd-redirect }",
      "add set bridge vmlan unspecified_msgs { type icmpv6_type; }",
      "add element bridge vmlan unspecified_msgs { nd-neighbor-solicit, nd-router-solicit, mld-listener-report, mld2-listener-report }",
      "add chain bridge vmlan guard { type filter hook prerouting priority -300; policy accept; }",
      "flush chain bridge vmlan guard",
      "add rule bridge vmlan guard iif vmap @ports",
      "add set bridge vmlan claimed_vl-a { type ether_addr; }",
    ]);
    const down = networkTeardownScript("vl-a", [{ ifindex: 7, dispatched: true }, { ifindex: 9, dispatched: false }]);
    expect(down).toContain("delete chain bridge vmlan port_vl-a_7");
    expect(down).toContain("delete element bridge vmlan ports { 7 : jump port_vl-a_7 }");
    expect(down).toContain("delete chain bridge vmlan port_vl-a_9");
    expect(down).not.toContain("ports { 9 "); // that ifindex's element jumps to another bridge's chain: left alone
    expect(down).toContain("delete set bridge vmlan claimed_vl-a");
    expect(down).not.toMatch(/delete table|flush chain bridge vmlan guard/);
  });

  test("a port chain's name gives back its bridge and ifindex, also for a bridge with '_' and digits", () => {
    expect(parsePortChain("port_vl-a_7")).toEqual({ bridge: "vl-a", ifindex: 7 });
    expect(parsePortChain("port_vl-a_1_70")).toEqual({ bridge: "vl-a_1", ifindex: 70 });
    expect(parsePortChain("guard")).toBeNull();
    expect(parsePortChain("port_7")).toBeNull(); // the layout before's name
  });

  test("a port has no set of its own but its MAC's: its rules look up the table's shared sets or compare values (a set per port makes every later commit slower)", () => {
    const s = portScript("vl-a", { ifindex: 7, mac: null, lease: { ...lease, static: ["10.0.0.51-10.0.0.254"] } }) + portScript("vl-a", { ifindex: 7, mac: lease.mac, lease });
    expect(rules(s).filter((r) => r.includes("{"))).toEqual(["add @mac_vl-a_7 { ether saddr }"]); // the learning statement, not a set
    expect(s.split("\n").filter((l) => l.startsWith("add set ")).map((l) => l.split(" ")[4])).toEqual(["mac_vl-a_7", "mac_vl-a_7"]);
  });
});
