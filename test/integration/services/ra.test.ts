/**
 * Router advertisements through the compiled binary: a guest namespace's own kernel (SLAAC) must
 * end up with exactly the IPv6 address vmlan's IPAM recorded for its MAC (prefix + EUI-64), and a
 * default route only on shared networks.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Host, slaacAddress } from "./support.ts";

const TIMEOUT_MS = 30_000;
let host: Host;

beforeAll(async () => {
  host = new Host();
  await host.ok("system", "start");
  await host.ok("network", "create", "v6nat", "--subnet", "10.94.1.0/24", "--subnet-v6", "fd00:94:1::/64");
  await host.ok("network", "create", "v6lab", "--subnet", "10.94.2.0/24", "--subnet-v6", "fd00:94:2::/64", "--mode", "host");
  await host.waitLog(/ra\[v6lab\]: listening/);
}, TIMEOUT_MS);

afterAll(async () => {
  await host?.close();
}, TIMEOUT_MS);

test("a guest's SLAAC address is the one vmlan attach recorded; shared networks give it a default route", async () => {
  const a = await host.json<{ mac: string; addressV6: string }>("attach", "v6nat", "--id", "six");
  const guest = host.cable("vl-v6nat", "r1", a.mac);
  expect(await slaacAddress(guest, "fd00:94:1:")).toBe(a.addressV6);
  expect(guest.sh(["ip", "-6", "route", "show", "default"])).toMatch(/^default via fe80::\S+ dev eth0 proto ra/);
}, TIMEOUT_MS);

test("host-only networks advertise the prefix but no default router", async () => {
  const a = await host.json<{ mac: string; addressV6: string }>("attach", "v6lab", "--id", "six");
  const guest = host.cable("vl-v6lab", "r2", a.mac);
  expect(await slaacAddress(guest, "fd00:94:2:")).toBe(a.addressV6);
  await Bun.sleep(500);
  expect(guest.sh(["ip", "-6", "route", "show", "default"]).trim()).toBe("");
}, TIMEOUT_MS);
