/**
 * Real Linux guests (QEMU, TCG) on networks the compiled binary made, all inside namespaces this
 * file creates: "host" (where vmlan runs and the bridges live) and "up" (the outside, reached
 * through host's wan0). Three guests boot once and serve every test: a and b on the shared
 * network lan, c on the host-only network hol. a and c use the default attachment (a `vmlan helper`
 * per NIC on a socketpair, QEMU -netdev dgram); b is native (a TAP fd straight to QEMU).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { runVmlan } from "../../support/binary.ts";
import { createNetns, linkUpstream, type Netns } from "../../support/netns.ts";
import { type ConsoleVm, ensureGuestImage, IMAGE_BUILD_TIMEOUT_MS, IMAGE_CACHE, helperPids, qemuPids, startConsoleVm, BOOT_TIMEOUT_MS } from "../../support/vm.ts";

let host: Netns;
let up: Netns;
let a: ConsoleVm, b: ConsoleVm, c: ConsoleVm;
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-vm-"));
const env = { VMLAN_STATE_DIR: stateDir, VMLAN_IMAGE_CACHE: IMAGE_CACHE };
/** Unique VM names, so the QEMU processes of this file can be told from any other's. */
const tag = `t${randomBytes(2).toString("hex")}`;
const UPSTREAM = "10.252.0.2";
/** Pings with -W 2-3 s and console round trips under TCG; bun's default of 5 s is too tight on 2 cores. */
const TEST_TIMEOUT_MS = 60_000;

async function vmlan(...args: string[]): Promise<string> {
  const r = await runVmlan(args, { env, netns: host.name, timeoutMs: BOOT_TIMEOUT_MS });
  if (r.exitCode !== 0) throw new Error(`vmlan ${args.join(" ")} failed (${r.exitCode}): ${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  await ensureGuestImage();
  host = createNetns();
  up = createNetns();
  linkUpstream(host, up, { nsIf: "wan0", upIf: "eth0", nsAddr: "10.252.0.1", upAddr: UPSTREAM, prefix: 30 });
  await vmlan("network", "create", "lan", "--subnet", "10.78.1.0/24", "--mode", "shared");
  await vmlan("network", "create", "hol", "--subnet", "10.78.2.0/24", "--mode", "host");
  [a, b, c] = await Promise.all([
    startConsoleVm(host, env, ["--network", "lan", "--name", `${tag}-a`]),
    startConsoleVm(host, env, ["--network", "lan", "--name", `${tag}-b`, "--native"]),
    startConsoleVm(host, env, ["--network", "hol", "--name", `${tag}-c`]),
  ]);
}, IMAGE_BUILD_TIMEOUT_MS + BOOT_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all([a, b, c].filter(Boolean).map((g) => g.stop()));
  host?.delete();
  up?.delete();
  rmSync(stateDir, { recursive: true, force: true });
}, TEST_TIMEOUT_MS);

test("each guest got its address from IPAM and configured it; the MAC is the lease's", async () => {
  expect([a.info.attachment, b.info.attachment, c.info.attachment]).toEqual(["helper", "native", "helper"]);
  expect(a.addresses).toEqual([a.info.nics[0]!.address]);
  expect(a.info.nics[0]!.address).toMatch(/^10\.78\.1\.\d+$/);
  expect(c.info.nics[0]!.address).toMatch(/^10\.78\.2\.\d+$/);
  const link = await a.sh("cat /sys/class/net/eth0/address");
  expect(link.output.map((l) => l.trim())).toContain(a.info.mac);
  const leases = JSON.parse(await vmlan("attachments", "lan", "--format", "json")) as { id: string; address: string; mac: string }[];
  expect(leases.find((l) => l.id === `${tag}-a`)).toMatchObject({ address: a.info.nics[0]!.address, mac: a.info.mac });
}, TEST_TIMEOUT_MS);

test("two guests on one network ping each other and the gateway, and open a TCP connection", async () => {
  const aAddr = a.info.nics[0]!.address;
  expect((await b.sh(`ping -c 2 -W 3 ${aAddr}`)).code).toBe(0);
  expect((await a.sh(`ping -c 2 -W 3 ${a.info.nics[0]!.gateway}`)).code).toBe(0);
  expect((await a.sh("sleep 60 | nc -l -p 7000 > /tmp/got &")).code).toBe(0);
  await Bun.sleep(300);
  expect((await b.sh(`echo hello-from-b | nc ${aAddr} 7000`)).code).toBe(0);
  await Bun.sleep(300);
  expect((await a.sh("cat /tmp/got")).output.join("\n")).toContain("hello-from-b");
}, TEST_TIMEOUT_MS);

test("the host side reaches guests on both attachments, whose TAPs sit on the network's bridge", () => {
  for (const g of [a, b]) {
    expect(host.run(["ping", "-c", "1", "-W", "3", g.info.nics[0]!.address]).stdout).toContain("1 received");
    const tap = host.ipJson<{ ifname: string; master?: string }[]>(["link", "show", "dev", g.info.tap])[0]!;
    expect(tap.master).toBe("vl-lan");
  }
}, TEST_TIMEOUT_MS);

test("a guest on another network cannot reach them, but reaches its own gateway", async () => {
  expect((await c.sh(`ping -c 1 -W 2 ${c.info.nics[0]!.gateway}`)).code).toBe(0);
  expect((await c.sh(`ping -c 2 -W 2 ${a.info.nics[0]!.address}`)).code).not.toBe(0);
}, TEST_TIMEOUT_MS);

test("a shared network reaches the upstream namespace through NAT; a host-only network has no way out", async () => {
  // "up" has no route back to 10.78.0.0/16: a reply arrives only if the source was masqueraded.
  expect((await a.sh(`ping -c 2 -W 3 ${UPSTREAM}`)).code).toBe(0);
  expect((await c.sh(`ping -c 2 -W 2 ${UPSTREAM}`)).code).not.toBe(0);
}, TEST_TIMEOUT_MS);

test("a real DHCP client in a guest gets its lease through the anti-spoofing rules of its port (helper and native)", async () => {
  await vmlan("system", "start"); // the DHCP/DNS daemon for lan
  for (const g of [a, b]) {
    // -s /bin/true: ask, do not reconfigure (the guest keeps the same address anyway).
    const r = await g.sh("udhcpc -i eth0 -n -q -f -t 6 -T 1 -s /bin/true 2>&1");
    expect(r.code, r.output.join("\n")).toBe(0);
    expect(r.output.join("\n")).toContain(`lease of ${g.info.nics[0]!.address} obtained`);
  }
}, TEST_TIMEOUT_MS);

test("a guest that takes another MAC is cut off by its port until it takes its own back (helper and native)", async () => {
  for (const g of [a, b]) {
    const gw = g.info.nics[0]!.gateway;
    expect((await g.sh("ip link set eth0 address 02:de:ad:be:ef:01")).code).toBe(0);
    expect((await g.sh(`ping -c 2 -W 2 ${gw}`)).code).not.toBe(0);
    expect((await g.sh(`ip link set eth0 address ${g.info.mac}`)).code).toBe(0);
    expect((await g.sh(`ping -c 2 -W 3 ${gw}`)).code).toBe(0);
  }
}, TEST_TIMEOUT_MS);

test("a detached guest restarted with the same --name gets the same address and MAC; vm list and vm stop", async () => {
  const name = `${tag}-r`;
  const run = async () => JSON.parse(await vmlan("vm", "run", "--network", "lan", "--name", name, "--detach", "--format", "json")) as VmInfoLine;
  type VmInfoLine = { name: string; pid: number; address: string; mac: string; console: string };
  const first = await run();
  expect((JSON.parse(await vmlan("vm", "list", "--format", "json")) as { name: string }[]).map((v) => v.name)).toContain(name);
  await waitForFile(first.console, "VMLAN-READY");
  expect(await vmlan("vm", "run", "--network", "lan", "--name", name, "--detach").catch((e: Error) => e.message)).toContain("already running");
  await vmlan("vm", "stop", name);
  expect((JSON.parse(await vmlan("vm", "list", "--format", "json")) as { name: string }[]).map((v) => v.name)).not.toContain(name);
  const second = await run();
  expect({ address: second.address, mac: second.mac }).toEqual({ address: first.address, mac: first.mac });
  await vmlan("vm", "stop", name);
  expect(qemuPids(name)).toEqual([]);
}, 2 * BOOT_TIMEOUT_MS);

test("after stop: no guests, leases released, no TAP, no QEMU; network rm leaves no bridge", async () => {
  await Promise.all([a, b, c].map((g) => g.stop()));
  expect(JSON.parse(await vmlan("vm", "list", "--format", "json"))).toEqual([]);
  const active = JSON.parse(await vmlan("attachments", "--format", "json")) as unknown[];
  expect(active).toEqual([]);
  expect(host.ipJson(["link", "show", "type", "tun"])).toEqual([]);
  expect(qemuPids(tag)).toEqual([]);
  expect(helperPids(tag)).toEqual([]);
  await vmlan("system", "stop");
  await vmlan("network", "rm", "lan", "hol");
  expect(host.ipJson(["link", "show", "type", "bridge"])).toEqual([]);
}, 30_000);

async function waitForFile(path: string, text: string): Promise<void> {
  const end = Date.now() + BOOT_TIMEOUT_MS;
  while (Date.now() < end) {
    if (existsSync(path) && readFileSync(path, "utf8").includes(text)) return;
    await Bun.sleep(200);
  }
  throw new Error(`${path} never showed "${text}"`);
}
