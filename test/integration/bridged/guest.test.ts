/**
 * A real QEMU guest (TCG) on a bridged network: `vmlan vm run` gives its NIC `vmlan.net=MAC,dhcp`,
 * the guest's /init runs busybox udhcpc, and the LAN's DHCP server (udhcpd in the LAN namespace,
 * support.ts) hands out the address. The guest then reaches the LAN's router and the host, whose
 * address now sits on the bridge. Namespaces only; the image is the one test/integration/vm uses.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { BOOT_TIMEOUT_MS, type ConsoleVm, ensureGuestImage, IMAGE_BUILD_TIMEOUT_MS, IMAGE_CACHE, qemuPids, startConsoleVm } from "../../support/vm.ts";
import { BridgedLan, LAN, removeScripts } from "./support.ts";

let lan: BridgedLan;
let vm: ConsoleVm;
const name = `b${randomBytes(2).toString("hex")}`;
const TEST_TIMEOUT_MS = 60_000;

beforeAll(async () => {
  await ensureGuestImage();
  lan = new BridgedLan();
  lan.startDhcpServer();
  const r = await lan.vmlan("network", "create", "lan", "--mode", "bridged", "--uplink", "up0");
  if (r.exitCode !== 0) throw new Error(`network create failed: ${r.stderr}`);
  vm = await startConsoleVm(lan.host, { VMLAN_STATE_DIR: lan.stateDir, VMLAN_IMAGE_CACHE: IMAGE_CACHE }, ["--network", "lan", "--name", name]);
}, IMAGE_BUILD_TIMEOUT_MS + BOOT_TIMEOUT_MS);

afterAll(async () => {
  await vm?.stop();
  await lan?.vmlan("network", "rm", "lan", "--force");
  lan?.close();
  removeScripts();
}, TEST_TIMEOUT_MS);

test("the guest's address comes from the LAN's DHCP server, at the MAC vmlan gave it", async () => {
  expect(vm.info.nics[0]).toMatchObject({ network: "lan", address: null, gateway: null });
  const [addr] = vm.addresses;
  const last = Number(addr!.split(".")[3]);
  expect(addr!.startsWith("10.99.0.") && last >= LAN.poolStart && last <= LAN.poolEnd).toBe(true);
  expect((await vm.sh("cat /sys/class/net/eth0/address")).output.map((l) => l.trim())).toContain(vm.info.mac);
  expect((await vm.sh("ip route")).output.join("\n")).toContain(`default via ${LAN.router}`);
}, TEST_TIMEOUT_MS);

test("the guest reaches the LAN's router and the host on the bridge; the LAN reaches the guest", async () => {
  expect((await vm.sh(`ping -c 2 -W 3 ${LAN.router}`)).code).toBe(0);
  expect((await vm.sh(`ping -c 2 -W 3 ${LAN.host}`)).code).toBe(0);
  expect(lan.lan.run(["ping", "-c", "1", "-W", "3", vm.addresses[0]!]).code).toBe(0);
}, TEST_TIMEOUT_MS);

test("stopping the guest leaves no QEMU; removing the network gives the uplink back", async () => {
  await vm.stop();
  expect(qemuPids(name)).toEqual([]);
  expect((await lan.vmlan("network", "rm", "lan")).exitCode).toBe(0);
  expect(lan.addrs("up0")).toEqual([`${LAN.host}/24`, `${LAN.second}/24`, `${LAN.host6}/64`]);
}, TEST_TIMEOUT_MS);
