/**
 * Retiring an older vmlan's anti-spoofing table (src/platform/linux/port-guard-legacy.ts), as text:
 * from `nft list table` of an old `bridge vmlan_<bridge>` (as the kernel printed it here), the live
 * ports' rules move with the new layout's names, a learned MAC with them, the gone ports' rules and
 * claims do not, the old table goes last, and a rule the old layout never wrote is refused rather
 * than moved. The kernel side is test/integration/platform/guard-layout.test.ts.
 */
import { expect, test } from "bun:test";
import { retireScript } from "../../../../src/platform/linux/port-guard-legacy.ts";

/** `nft list table bridge vmlan_vl-a` of a pinned port 3 with a lease and a learning port 5 (nftables 1.0.6). */
const LISTING = `table bridge vmlan_vl-a {
	map ports {
		type iface_index : verdict
		elements = { "d7" : jump port_3, "d8" : jump port_5, 9 : jump port_9 }
	}

	set claimed {
		type ether_addr
		elements = { 02:00:00:00:00:05, 02:00:00:00:00:09 }
	}

	chain guard {
		type filter hook prerouting priority dstnat; policy accept;
		iif vmap @ports
	}

	chain port_3 {
		ether saddr & 01:00:00:00:00:00 == 01:00:00:00:00:00 drop
		ether saddr != @mac_3 drop
		ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 ether saddr 02:00:00:00:00:05 @ih,224,48 0x20000000005 accept
		ip saddr != { 10.0.0.5, 10.0.0.51-10.0.0.254 } drop
	}

	chain port_5 {
		ether saddr @claimed drop
		add @mac_5 { ether saddr }
		ether saddr != @mac_5 drop
	}

	chain port_9 {
		ether saddr != @mac_9 drop
	}
}
`;
const sets = new Map([["claimed", ["02:00:00:00:00:05", "02:00:00:00:00:09"]], ["mac_3", ["02:00:00:00:00:05"]], ["mac_5", ["02:00:00:00:00:77"]], ["mac_9", ["02:00:00:00:00:09"]]]);
const alive = (n: number) => n !== 9;

test("the live ports move with their rules renamed and their MACs; a gone port's rules and claim stay behind; the old table goes last", () => {
  const lines = retireScript("vl-a", { listing: LISTING, sets }, alive).trimEnd().split("\n");
  expect(lines.filter((l) => l.startsWith("add rule ")).map((l) => l.replace(/^add rule bridge vmlan /, ""))).toEqual([
    "port_vl-a_3 ether saddr & 01:00:00:00:00:00 == 01:00:00:00:00:00 drop",
    "port_vl-a_3 ether saddr != @mac_vl-a_3 drop",
    "port_vl-a_3 ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 ether saddr 02:00:00:00:00:05 @ih,224,48 0x20000000005 accept",
    "port_vl-a_3 ip saddr != { 10.0.0.5, 10.0.0.51-10.0.0.254 } drop",
    "port_vl-a_5 ether saddr @claimed_vl-a drop",
    "port_vl-a_5 add @mac_vl-a_5 { ether saddr }",
    "port_vl-a_5 ether saddr != @mac_vl-a_5 drop",
  ]);
  expect(lines).toContain("add element bridge vmlan mac_vl-a_5 { 02:00:00:00:00:77 }"); // learned: kept, so it learns no other
  expect(lines).toContain("add element bridge vmlan ports { 3 : jump port_vl-a_3 }");
  expect(lines).toContain("add element bridge vmlan claimed_vl-a { 02:00:00:00:00:05 }"); // port 9's claim is not carried over
  expect(lines.join("\n")).not.toMatch(/_9\b|02:00:00:00:00:09/);
  expect(lines.at(-1)).toBe("delete table bridge vmlan_vl-a");
  // Each port's element comes after its chain's rules: never dispatched to a half-filled chain.
  expect(lines.indexOf("add element bridge vmlan ports { 5 : jump port_vl-a_5 }")).toBeGreaterThan(lines.findLastIndex((l) => l.startsWith("add rule bridge vmlan port_vl-a_5 ")));
});

test("an old table with no live port is only deleted; a rule naming a set the old layout never had is refused", () => {
  expect(retireScript("vl-a", { listing: LISTING, sets }, () => false)).toBe("delete table bridge vmlan_vl-a\n");
  const odd = LISTING.replace("ether saddr != @mac_9 drop", "ether saddr != @mac_9 drop\n\t\tip saddr @blocklist drop");
  expect(() => retireScript("vl-a", { listing: odd, sets }, () => true)).toThrow(/unknown rule "ip saddr @blocklist drop"/);
  expect(() => retireScript("vl-a", { listing: LISTING, sets: new Map([["mac_3", ["02:00:00:00:00:05; flush ruleset"]]]) }, () => true)).toThrow(/invalid MAC/);
});
