/** The published ports' nft script: built from validated values, in the chains each address needs. */
import { describe, expect, test } from "bun:test";
import { needsLocalnet, portsScript } from "../../../../src/platform/linux/ports.ts";
import type { PortRule } from "../../../../src/core/ports/state.ts";
import { UsageError } from "../../../../src/core/errors.ts";

const spec = { bridge: "vl-lab", mode: "shared" as const, subnet: "10.80.0.0/24", subnetV6: "fd80::/64" };
const rule = (o: Partial<PortRule>): PortRule => ({ hostIp: "127.0.0.1", hostPort: 8080, hostEnd: o.hostPort ?? 8080, guestPort: 80, proto: "tcp", guestAddress: "10.80.0.2", ...o });
const lines = (s: string, chain: string) => s.split("\n").filter((l) => l.startsWith(`add rule inet vmlan ${chain}_vl-lab `));

describe("portsScript", () => {
  test("127.0.0.1 only in output; a host address in both; 0.0.0.0 as any local address", () => {
    const s = portsScript(spec, [rule({}), rule({ hostIp: "192.168.1.20", hostPort: 8081 }), rule({ hostIp: "0.0.0.0", hostPort: 8082 })]);
    expect(lines(s, "ports_out")).toEqual([
      "add rule inet vmlan ports_out_vl-lab ip daddr 127.0.0.1 tcp dport 8080 dnat ip to 10.80.0.2:80",
      "add rule inet vmlan ports_out_vl-lab ip daddr 192.168.1.20 tcp dport 8081 dnat ip to 10.80.0.2:80",
      "add rule inet vmlan ports_out_vl-lab meta nfproto ipv4 fib daddr type local tcp dport 8082 dnat ip to 10.80.0.2:80",
    ]);
    expect(lines(s, "ports_pre")).toHaveLength(2); // loopback never arrives from outside
    expect(lines(s, "ports_post")).toEqual([
      `add rule inet vmlan ports_post_vl-lab oifname "vl-lab" ct status dnat ip saddr 127.0.0.0/8 masquerade`,
      `add rule inet vmlan ports_post_vl-lab oifname "vl-lab" ct status dnat ip saddr 10.80.0.0/24 masquerade`,
      `add rule inet vmlan ports_post_vl-lab oifname "vl-lab" ct status dnat ip6 saddr fd80::/64 masquerade`,
    ]);
  });

  test("ranges: the same ports keep their numbers, shifted ones get a map; IPv6 leaves ::1 to the daemon", () => {
    const s = portsScript(spec, [
      rule({ hostIp: "0.0.0.0", hostPort: 9000, hostEnd: 9001, guestPort: 9000, proto: "udp" }),
      rule({ hostIp: "::", hostPort: 9000, hostEnd: 9001, guestPort: 80, guestAddress: "fd80::2" }),
      rule({ hostIp: "::1", hostPort: 7000, guestAddress: "fd80::2" }),
    ]);
    expect(s).toContain("udp dport 9000-9001 dnat ip to 10.80.0.2\n");
    expect(s).toContain("ports_out_vl-lab meta nfproto ipv6 ip6 daddr != ::1 fib daddr type local tcp dport 9000-9001 dnat ip6 to tcp dport map { 9000 : fd80::2 . 80, 9001 : fd80::2 . 81 }");
    expect(s).not.toContain("7000");
  });

  test("host-only networks masquerade every published connection; no rules delete the chains", () => {
    expect(lines(portsScript({ ...spec, mode: "host" }, [rule({})]), "ports_post")).toEqual([`add rule inet vmlan ports_post_vl-lab oifname "vl-lab" ct status dnat masquerade`]);
    const none = portsScript(spec, []);
    expect(none).toContain("delete chain inet vmlan ports_pre_vl-lab");
    expect(none).not.toContain("add rule");
  });

  test("route_localnet only for 127.x and 0.0.0.0", () => {
    expect(needsLocalnet([rule({})])).toBe(true);
    expect(needsLocalnet([rule({ hostIp: "0.0.0.0" })])).toBe(true);
    expect(needsLocalnet([rule({ hostIp: "192.168.1.20" }), rule({ hostIp: "::", guestAddress: "fd80::2" })])).toBe(false);
  });

  test("nothing unvalidated reaches the script", () => {
    expect(() => portsScript(spec, [rule({ guestAddress: "10.0.0.1; flush ruleset" })])).toThrow(UsageError);
    expect(() => portsScript(spec, [rule({ hostIp: "::", guestAddress: "10.80.0.2" })])).toThrow("another address family");
    expect(() => portsScript(spec, [rule({ proto: "icmp" as "tcp" })])).toThrow("invalid protocol");
    expect(() => portsScript(spec, [rule({ hostPort: 0 })])).toThrow("invalid port 0");
    expect(() => portsScript(spec, [rule({ hostPort: 8081, hostEnd: 8080 })])).toThrow("invalid port range 8081-8080");
    expect(() => portsScript({ ...spec, bridge: `x"; flush` }, [rule({})])).toThrow(UsageError);
  });
});
