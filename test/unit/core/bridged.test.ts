// Bridged networks in the core: request checks, the LAN's layout from the uplink, MAC-only IPAM, config diffs.
import { describe, expect, test } from "bun:test";
import { lanLayout } from "../../../src/core/bridged.ts";
import { buildNetwork, configDiff, parseRequest } from "../../../src/core/network-config.ts";
import { UsageError } from "../../../src/core/errors.ts";
import { services } from "../../support/memory.ts";

const up0 = { name: "up0", mtu: 1500, ipv4: ["192.168.1.20/24", "10.0.0.5/8"], defaultGateway: "192.168.1.1" };

describe("bridged requests", () => {
  test("an uplink is required for bridged mode and refused for the others; vmlan's services are refused", () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ mode: "bridged" }, /needs an uplink: --uplink IF/],
      [{ mode: "shared", uplink: "up0" }, /only for bridged networks \(this one is shared\)/],
      [{ mode: "bridged", uplink: "up0", dhcp: true }, /would answer every host on the LAN of up0/],
      [{ mode: "bridged", uplink: "up0", subnetV6: "fd00::/64" }, /guests take IPv6 from the LAN's router/],
      [{ mode: "bridged", uplink: "up0", dnsDomain: "lan.example" }, /the LAN's DNS serves the guests/],
      [{ mode: "bridged", uplink: "eth0/1" }, /invalid interface name "eth0\/1"/],
      [{ mode: "bridged", uplink: "a".repeat(16) }, /invalid interface name/],
    ];
    for (const [extra, msg] of bad) expect(() => parseRequest({ name: "n", ...extra })).toThrow(msg);
    expect(parseRequest({ name: "n", mode: "bridged", uplink: "enp0s31f6", dhcp: false })).toMatchObject({ uplink: "enp0s31f6", dhcp: false });
  });

  test("the LAN's subnet and router come from the uplink; --subnet and --mtu override within limits", () => {
    expect(lanLayout(up0, {})).toEqual({ subnet: "192.168.1.0/24", gateway: "192.168.1.1", mtu: 1500 });
    expect(lanLayout({ ...up0, defaultGateway: "172.16.0.1" }, {})).toEqual({ subnet: "192.168.1.0/24", gateway: "192.168.1.1", mtu: 1500 });
    expect(lanLayout({ ...up0, ipv4: [] }, { subnet: "10.9.0.0/16", mtu: 1400 })).toEqual({ subnet: "10.9.0.0/16", gateway: "10.9.0.1", mtu: 1400 });
    expect(() => lanLayout({ ...up0, ipv4: [] }, {})).toThrow(/up0 has no IPv4 address to take the LAN's subnet from: give it with --subnet CIDR/);
    expect(() => lanLayout({ ...up0, ipv4: ["203.0.113.7/32"] }, {})).toThrow(/whose \/32 is not a LAN vmlan can describe/);
    expect(() => lanLayout(up0, { mtu: 9000 })).toThrow(UsageError);
  });

  test("an absent MTU is not a difference (it is the uplink's); uplink and mode are", () => {
    const req = parseRequest({ name: "lan", mode: "bridged", uplink: "up0" });
    const n = buildNetwork(req, "192.168.1.0/24", "vlb-lan", "now", false, { gateway: "192.168.1.1", mtu: 9000 });
    expect(n).toMatchObject({ mode: "bridged", uplink: "up0", gateway: "192.168.1.1", mtu: 9000, dhcp: false, dnsDomain: null });
    expect(configDiff(n, req)).toEqual([]);
    expect(configDiff(n, parseRequest({ name: "lan", mode: "bridged", uplink: "up1" }))).toEqual(["uplink: up0 -> up1"]);
    expect(configDiff(n, parseRequest({ name: "lan", mode: "bridged", uplink: "up0", mtu: 1500 }))).toEqual(["mtu: 9000 -> 1500"]);
    expect(configDiff(n, parseRequest({ name: "lan" }))).toEqual(["mode: bridged -> shared", "uplink: up0 -> none", "mtu: 9000 -> 1500", "dhcp: false -> true"]);
  });
});

describe("IPAM on a bridged network", () => {
  function bridged() {
    const s = services();
    const n = buildNetwork(parseRequest({ name: "lan", mode: "bridged", uplink: "up0" }), "192.168.1.0/24", "vlb-lan", "now", false, { gateway: "192.168.1.1", mtu: 1500 });
    s.store.tx(() => s.store.insertNetwork(n));
    return s;
  }

  test("attachments get a stable MAC and hostname, no address; each keeps its own slot, also after detach", () => {
    const { leases, store } = bridged();
    const a = leases.attach({ network: "lan", id: "a" }).attachment;
    const b = leases.attach({ network: "lan", id: "b", hostname: "bee" }).attachment;
    expect(a).toMatchObject({ address: null, prefixLength: null, gateway: null, mtu: 1500, hostname: "a" });
    expect(b).toMatchObject({ address: null, hostname: "bee" });
    expect(a.mac).not.toBe(b.mac);
    leases.detach("lan", "a");
    expect(leases.attach({ network: "lan", id: "c" }).attachment.address).toBeNull();
    expect(leases.attach({ network: "lan", id: "a" }).attachment).toMatchObject({ mac: a.mac, address: null });
    expect(store.lastAllocated("lan")).toBeNull(); // slots never move the address cursor
    expect(leases.list("lan").map((x) => x.id).sort()).toEqual(["a", "b", "c"]);
  });

  test("a fixed IP is refused (the LAN's DHCP server assigns addresses); a fixed MAC is fine", () => {
    const { leases } = bridged();
    expect(() => leases.attach({ network: "lan", id: "a", ip: "192.168.1.50" })).toThrow(/cannot be reserved on "lan": it is bridged/);
    expect(leases.attach({ network: "lan", id: "a", mac: "52:54:00:12:34:56" }).attachment).toMatchObject({ mac: "52:54:00:12:34:56", address: null });
  });
});
