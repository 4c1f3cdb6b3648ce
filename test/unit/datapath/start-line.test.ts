import { expect, test } from "bun:test";
import { ipv4Range, startLine } from "../../../src/datapath/start-line.ts";
import { commandEnv, substitute, type Attached } from "../../../src/datapath/placeholders.ts";

test("subnet mask and last usable address, as vmnet reports them", () => {
  expect(ipv4Range("192.168.64.1", 24)).toEqual({ mask: "255.255.255.0", end: "192.168.64.254" });
  expect(ipv4Range("10.0.0.1", 8)).toEqual({ mask: "255.0.0.0", end: "10.255.255.254" });
  expect(ipv4Range("192.168.200.1", 30)).toEqual({ mask: "255.255.255.252", end: "192.168.200.2" });
  expect(ipv4Range("172.16.5.1", 20)).toEqual({ mask: "255.255.240.0", end: "172.16.15.254" });
});

test("the start line has every key vmnet-helper prints plus vmlan's, max packet size = MTU + 14", () => {
  const l = startLine({ mac: "02:00:00:00:00:01", mtu: 1400, interfaceId: "X", address: "10.1.0.2", prefixLength: 24, gateway: "10.1.0.1", hostname: "x", network: "n", tap: "vlt0" });
  expect(l.vmnet_max_packet_size).toBe(1414);
  expect(Object.keys(l).filter((k) => k.startsWith("vmnet_") || k.startsWith("net_")).sort()).toEqual([
    "net_ipv4_mask", "net_ipv4_subnet", "net_ipv6_prefix", "net_ipv6_prefix_len",
    "vmnet_end_address", "vmnet_interface_id", "vmnet_mac_address", "vmnet_max_packet_size", "vmnet_mtu", "vmnet_nat66_prefix",
    "vmnet_read_max_packets", "vmnet_start_address", "vmnet_subnet_mask", "vmnet_write_max_packets",
  ]);
  expect(l).toMatchObject({ vmnet_start_address: "10.1.0.1", vmnet_end_address: "10.1.0.254", vmnet_nat66_prefix: "", net_ipv4_subnet: "10.1.0.1", net_ipv6_prefix_len: 0 });
  expect(l).toMatchObject({ vmlan_isolation: false, vmlan_tso: false, vmlan_checksum_offload: false });
});

test("a pool's end is vmnet's end address; an IPv6 prefix is vmnet's nat66 prefix and net_ipv6_*", () => {
  const l = startLine({
    mac: "02:00:00:00:00:01", mtu: 1500, interfaceId: "X", address: "10.1.0.2", prefixLength: 24, gateway: "10.1.0.1", hostname: "x", network: "n", tap: "vlt0",
    rangeEnd: "10.1.0.20", ipv6Prefix: "fd00:1::", ipv6PrefixLength: 64, isolation: true,
  });
  expect(l).toMatchObject({ vmnet_end_address: "10.1.0.20", vmnet_nat66_prefix: "fd00:1::", net_ipv6_prefix: "fd00:1::", net_ipv6_prefix_len: 64, vmlan_isolation: true });
});

const att = (i: number): Attached => ({
  id: "vm", network: `n${i}`, mac: `02:00:00:00:00:0${i}`, address: `10.${i}.0.2`, prefixLength: 24, gateway: `10.${i}.0.1`, hostname: "vm", mtu: 1500, fd: 3 + i, tap: `vlt${i}`,
});

test("placeholders: unsuffixed means network 0; an index past the networks is a usage error", () => {
  expect(substitute(["-netdev", "dgram,id=n0,local.type=fd,local.str={fd}", "mac={mac},{mac1}", "{ip1}/{prefix1} via {gateway}"], [att(0), att(1)])).toEqual([
    "-netdev", "dgram,id=n0,local.type=fd,local.str=3", "mac=02:00:00:00:00:00,02:00:00:00:00:01", "10.1.0.2/24 via 10.0.0.1",
  ]);
  expect(substitute(["{unknown}", "{fd0}"], [att(0)])).toEqual(["{unknown}", "3"]);
  expect(() => substitute(["{fd2}"], [att(0), att(1)])).toThrow("only 2 --network given");
});

test("environment: indexed names for every network, unsuffixed for the first", () => {
  const env = commandEnv([att(0), att(1)]);
  expect(env).toMatchObject({ VMLAN_FD: "3", VMLAN_FD_0: "3", VMLAN_FD_1: "4", VMLAN_IP_1: "10.1.0.2", VMLAN_MAC: "02:00:00:00:00:00", VMLAN_TAP_1: "vlt1", VMLAN_INTERFACE_ID: "vm" });
});
