// macOS's ifconfig and route output as the darwin platform reads it for a bridged network's LAN.
import { expect, test } from "bun:test";
import { parseDefaultRoute, parseIfconfig } from "../../../../src/platform/darwin/uplinks.ts";

const EN0 = `en0: flags=8863<UP,BROADCAST,SMART,RUNNING,SIMPLEX,MULTICAST> mtu 1500
	options=6460<TSO4,TSO6,CHANNEL_IO,PARTIAL_CSUM,ZEROINVERT_CSUM>
	ether 3c:22:fb:12:34:56
	inet6 fe80::1c8e:2a9b:8f3c:1d2e%en0 prefixlen 64 secured scopeid 0xe
	inet 192.168.1.23 netmask 0xffffff00 broadcast 192.168.1.255
	inet 10.20.0.4 netmask 0xffff0000 broadcast 10.20.255.255
	nd6 options=201<PERFORMNUD,DAD>
	media: autoselect
	status: active
`;

test("ifconfig: link state, MTU and IPv4 addresses with their prefix", () => {
  expect(parseIfconfig(EN0)).toEqual({ up: true, mtu: 1500, ipv4: ["192.168.1.23/24", "10.20.0.4/16"] });
  expect(parseIfconfig("en7: flags=8822<BROADCAST,SMART,SIMPLEX,MULTICAST> mtu 9000\n\tether 00:11:22:33:44:55\n")).toEqual({ up: false, mtu: 9000, ipv4: [] });
  expect(parseIfconfig("")).toEqual({ up: false, mtu: null, ipv4: [] });
});

test("route -n get default: the gateway only when it leaves through the uplink", () => {
  const out = "   route to: default\ndestination: default\n       mask: default\n    gateway: 192.168.1.1\n  interface: en0\n      flags: <UP,GATEWAY,DONE,STATIC,PRCLONING,GLOBAL>\n";
  expect(parseDefaultRoute(out, "en0")).toBe("192.168.1.1");
  expect(parseDefaultRoute(out, "en1")).toBeNull();
  expect(parseDefaultRoute("route: writing to routing socket: not in table\n", "en0")).toBeNull();
});
