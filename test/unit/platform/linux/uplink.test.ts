// Which interfaces may be uplinks: the kernel's refusals (br_add_if) and vmlan's own, as one line each.
import { describe, expect, test } from "bun:test";
import { refusal } from "../../../../src/platform/linux/uplink.ts";
import type { Link } from "../../../../src/platform/linux/links.ts";

const mac = new Uint8Array([2, 0, 0, 0, 0, 1]);
const link = (o: Partial<Link>): Link => ({ index: 5, name: "eth1", flags: 1, mtu: 1500, alias: null, kind: null, master: null, type: 1, mac, iflink: null, ...o });

describe("uplink refusals", () => {
  test("an Ethernet interface on no bridge (or on the network's own) is fine", () => {
    expect(refusal(link({}), null, "vlb-lan")).toBeNull();
    expect(refusal(link({ kind: "veth" }), null, "vlb-lan")).toBeNull();
    expect(refusal(link({ master: 9 }), link({ index: 9, name: "vlb-lan", kind: "bridge", alias: "vmlan:lan" }), "vlb-lan")).toBeNull();
  });

  test("loopback, vmlan's bridges, other bridges, enslaved and non-Ethernet interfaces are refused with the reason", () => {
    expect(refusal(link({ name: "lo", flags: 9, type: 772, mac: new Uint8Array(6) }), null, "x")).toMatchObject({ exit: "usage", message: expect.stringContaining("is the loopback interface") });
    expect(refusal(link({ name: "vl-default", kind: "bridge", alias: "vmlan:default" }), null, "x")!.message).toContain(`vmlan's own bridge of network "default"`);
    expect(refusal(link({ name: "br0", kind: "bridge" }), null, "x")!.message).toContain(`uplink "br0" is a bridge`);
    const bond = link({ index: 7, name: "bond0", kind: "bond" });
    expect(refusal(link({ master: 7 }), bond, "vlb-lan")).toEqual({ exit: "conflict", message: `uplink "eth1" is already enslaved to bond "bond0"; release it first (ip link set eth1 nomaster)` });
    expect(refusal(link({ master: 8 }), link({ index: 8, name: "vl-x", kind: "bridge", alias: "vmlan:x" }), "vlb-lan")!.message).toContain(`vmlan's "vl-x"`);
    expect(refusal(link({ name: "wg0", type: 65534, mac: null }), null, "x")!.message).toContain("is not an Ethernet interface (link type 65534)");
  });
});
