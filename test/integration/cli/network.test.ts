// The compiled binary's network/attach/system commands, each run inside a namespace this file creates.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";

const ns = `vmlan-t-cli-${process.pid}`;
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-cli-"));
const env = { VMLAN_STATE_DIR: stateDir };
const vmlan = (...args: string[]) => runVmlan(args, { env, netns: ns });
const inNs = (...cmd: string[]) => Bun.spawnSync(["ip", "netns", "exec", ns, ...cmd], { stdout: "pipe", stderr: "pipe" });
const kernelAddrs = (dev: string): string[] =>
  JSON.parse(inNs("ip", "-j", "addr", "show", "dev", dev).stdout.toString())[0].addr_info
    .filter((a: { scope: string }) => a.scope === "global")
    .map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`);
const linkExists = (dev: string) => inNs("ip", "link", "show", "dev", dev).exitCode === 0;

beforeAll(() => {
  expect(Bun.spawnSync(["ip", "netns", "add", ns]).exitCode).toBe(0);
});
afterAll(() => {
  Bun.spawnSync(["ip", "netns", "del", ns]);
  rmSync(stateDir, { recursive: true, force: true });
});

describe("network lifecycle through the compiled binary", () => {
  test("system start creates the built-in default network: 192.168.64.0/24, gateway .1, bridge up", async () => {
    const r = await vmlan("system", "start");
    expect(r).toMatchObject({ exitCode: 0, stderr: "" });
    expect(kernelAddrs("vl-default")).toEqual(["192.168.64.1/24"]);
    const list = JSON.parse((await vmlan("network", "list", "--format", "json")).stdout);
    expect(list).toEqual([expect.objectContaining({ name: "default", subnet: "192.168.64.0/24", gateway: "192.168.64.1", mode: "shared", labels: { role: "builtin" }, builtin: true })]);
    // Running it again changes nothing.
    expect((await vmlan("system", "start")).exitCode).toBe(0);
    expect(kernelAddrs("vl-default")).toEqual(["192.168.64.1/24"]);
  });

  test("create shows up in the kernel's own view (bridge, v4 and v6 gateway, MTU); same create again is 'unchanged'", async () => {
    const args = ["network", "create", "lab", "--subnet", "10.77.0.0/24", "--subnet-v6", "fd00:77::/64", "--mode", "host", "--label", "team=net", "--mtu", "1400"];
    const first = await vmlan(...args, "--format", "json");
    expect(first.exitCode).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ name: "lab", gateway: "10.77.0.1", gatewayV6: "fd00:77::1", bridge: "vl-lab", outcome: "created" });
    expect(kernelAddrs("vl-lab")).toEqual(["10.77.0.1/24", "fd00:77::1/64"]);
    const link = JSON.parse(inNs("ip", "-j", "-d", "link", "show", "dev", "vl-lab").stdout.toString())[0];
    expect(link).toMatchObject({ mtu: 1400, ifalias: "vmlan:lab", linkinfo: { info_kind: "bridge" } });
    const again = await vmlan(...args);
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toContain(`network "lab" unchanged`);
  });

  test("a different configuration is refused with a one-line diff (exit 2)", async () => {
    const r = await vmlan("network", "create", "lab", "--subnet", "10.78.0.0/24", "--mode", "host", "--label", "team=net", "--mtu", "1400");
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([`error: network "lab" exists with a different configuration (subnet: 10.77.0.0/24 -> 10.78.0.0/24); use --replace to recreate it`]);
  });

  test("bad input: one line naming the value, exit 2, nothing created", async () => {
    const cases: [string[], string][] = [
      [["network", "create", "bad name"], `invalid network name "bad name"`],
      [["network", "create", "x1", "--subnet", "10.0.0.0/31"], `invalid subnet "10.0.0.0/31"`],
      [["network", "create", "x2", "--subnet", "10.0.0.1/24"], `did you mean 10.0.0.0/24?`],
      [["network", "create", "x3", "--mode", "bridged"], `a bridged network needs an uplink`],
      [["network", "create", "x4", "--label", "bad key=1"], `invalid label "bad key=1"`],
      [["network", "create", "x5", "--bogus"], `unknown option "--bogus"`],
      [["attach", "lab", "--id", "a", "--ip", "10.99.0.5"], `outside the subnet 10.77.0.0/24`],
      [["attach", "lab", "--id", "a", "--mac", "01:00:5e:00:00:01"], `multicast`],
    ];
    for (const [args, msg] of cases) {
      const r = await vmlan(...args);
      expect({ args, exitCode: r.exitCode }).toEqual({ args, exitCode: 2 });
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain(msg);
    }
    const names = (await vmlan("network", "ls", "-q")).stdout.trim().split("\n");
    expect(names).toEqual(["default", "lab"]);
  });

  test("overlapping subnets are refused (v4 and v6 separately)", async () => {
    const v4 = await vmlan("network", "create", "ov4", "--subnet", "10.77.0.0/16");
    expect(v4.exitCode).toBe(4);
    expect(v4.stderr).toContain(`overlaps network "lab" (10.77.0.0/24)`);
    const v6 = await vmlan("network", "create", "ov6", "--subnet", "10.79.0.0/24", "--subnet-v6", "fd00:77::/48");
    expect(v6.exitCode).toBe(4);
    expect(v6.stderr).toContain(`overlaps network "lab" (fd00:77::/64)`);
  });

  test("a subnet colliding with a host route that is not vmlan's is refused", async () => {
    // This kernel has no dummy module: a veth pair stands in for a foreign interface.
    inNs("ip", "link", "add", "lan0", "type", "veth", "peer", "name", "lan1");
    inNs("ip", "addr", "add", "10.200.0.1/24", "dev", "lan0");
    inNs("ip", "link", "set", "lan0", "up");
    inNs("ip", "link", "set", "lan1", "up");
    const r = await vmlan("network", "create", "clash", "--subnet", "10.200.0.0/16");
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toContain("lan0");
    expect(linkExists("vl-clash")).toBe(false);
  });

  test("an interface with the bridge's name that is not ours is refused and left alone", async () => {
    inNs("ip", "link", "add", "vl-taken", "type", "veth", "peer", "name", "taken-peer");
    const r = await vmlan("network", "create", "taken", "--subnet", "10.81.0.0/24");
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toContain("vl-taken");
    expect(linkExists("vl-taken")).toBe(true);
    expect((await vmlan("network", "ls", "-q")).stdout).not.toContain("taken");
  });

  test("attach prints address, gateway, MAC, MTU, hostname and IPv6; sticky across detach", async () => {
    const a = JSON.parse((await vmlan("attach", "lab", "--id", "web-1", "--format", "json")).stdout);
    expect(a).toMatchObject({ address: "10.77.0.2", prefixLength: 24, gateway: "10.77.0.1", mtu: 1400, hostname: "web-1", prefixLengthV6: 64, created: true });
    expect(a.mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    expect(a.addressV6).toStartWith("fd00:77::");
    const again = JSON.parse((await vmlan("attach", "lab", "--id", "web-1", "--format", "json")).stdout);
    expect(again).toMatchObject({ address: a.address, mac: a.mac, created: false });
    expect((await vmlan("detach", "lab", "--id", "web-1")).exitCode).toBe(0);
    expect((await vmlan("detach", "lab", "--id", "web-1")).exitCode).toBe(3);
    expect((await vmlan("detach", "lab", "--id", "web-1", "--if-exists")).exitCode).toBe(0);
    await vmlan("attach", "lab", "--id", "other");
    const back = JSON.parse((await vmlan("attach", "lab", "--id", "web-1", "--json")).stdout);
    expect(back).toMatchObject({ address: a.address, mac: a.mac });
    const list = JSON.parse((await vmlan("attachments", "lab", "--format", "json")).stdout);
    expect(list.map((x: { id: string }) => x.id).sort()).toEqual(["other", "web-1"]);
  });

  test("rm refuses while attached, removes bridge and NAT table with --force; default cannot be removed", async () => {
    const busy = await vmlan("network", "rm", "lab");
    expect(busy.exitCode).toBe(4);
    expect(linkExists("vl-lab")).toBe(true);
    expect((await vmlan("network", "rm", "lab", "--force")).exitCode).toBe(0);
    expect(linkExists("vl-lab")).toBe(false);
    expect((await vmlan("network", "rm", "lab")).exitCode).toBe(3);
    expect((await vmlan("network", "rm", "lab", "--if-exists")).exitCode).toBe(0);
    const def = await vmlan("network", "rm", "default", "--force");
    expect(def.exitCode).toBe(2);
    expect(def.stderr).toContain("built in");
  });

  test("auto subnet, prune, and system stop/start recreate host side from the store", async () => {
    const auto = JSON.parse((await vmlan("network", "create", "auto", "--json")).stdout);
    expect(auto.subnet).toBe("192.168.65.0/24");
    await vmlan("network", "create", "keep", "--subnet", "10.82.0.0/24");
    await vmlan("attach", "keep", "--id", "vm");
    const pruned = JSON.parse((await vmlan("network", "prune", "--format", "json")).stdout);
    expect(pruned.removed).toEqual(["auto"]);
    expect((await vmlan("system", "stop")).exitCode).toBe(0);
    expect(linkExists("vl-keep")).toBe(false);
    expect(linkExists("vl-default")).toBe(false);
    expect((await vmlan("system", "start")).exitCode).toBe(0);
    expect(kernelAddrs("vl-keep")).toEqual(["10.82.0.1/24"]);
    const status = JSON.parse((await vmlan("system", "status", "--format", "json")).stdout);
    expect(status.networks.map((n: { name: string; host: { up: boolean } }) => [n.name, n.host.up])).toEqual([["default", true], ["keep", true]]);
    const vm = JSON.parse((await vmlan("attach", "keep", "--id", "vm", "--json")).stdout);
    expect(vm).toMatchObject({ address: "10.82.0.2", created: false });
  });

  test("without CAP_NET_ADMIN: one clear line, exit 5, nothing stored", async () => {
    const r = await runVmlan(["network", "create", "nocap", "--subnet", "10.83.0.0/24"], { env, netns: ns, wrap: ["setpriv", "--bounding-set", "-net_admin"] });
    expect(r.exitCode).toBe(5);
    expect(r.stderr).toStartWith("error: vmlan needs CAP_NET_ADMIN");
    expect((await vmlan("network", "ls", "-q")).stdout).not.toContain("nocap");
  });

  test("errors as JSON with --format json", async () => {
    const r = await vmlan("network", "inspect", "nope", "--format", "json");
    expect(r.exitCode).toBe(3);
  });
});
