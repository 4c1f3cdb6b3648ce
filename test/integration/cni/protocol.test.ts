/**
 * The plugin protocol as SPEC.md's examples drive it: CNI_* in the environment, the config on
 * stdin, the compiled binary linked as `vmlan` in a plugin directory, run in a host namespace of
 * the test's own; containers are namespaces of the test's own too. Every command, every supported
 * version, and bad input: exactly one error object on stdout with the spec's code, exit 1.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { execPlugin, mustExec, netnsPath, PluginDir } from "../../support/cni.ts";
import { createNetns, type Netns } from "../../support/netns.ts";

const VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];
let host: Netns;
let ctr: Netns;
let dir: PluginDir;
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-cni-proto-"));
const conf = (v: string, extra: Record<string, unknown> = {}) => ({ cniVersion: v, name: "proto", type: "vmlan", subnet: "10.79.0.0/24", mode: "shared", stateDir, ...extra });

beforeAll(() => {
  host = createNetns();
  ctr = createNetns();
  dir = new PluginDir();
});
afterAll(() => {
  ctr?.delete();
  host?.delete();
  dir?.remove();
  rmSync(stateDir, { recursive: true, force: true });
});

/** One error object on stdout and nothing else; no help page anywhere. */
function expectError(r: { code: number; stdout: string; stderr: string; json: Record<string, unknown> | null }, code: number, msg?: RegExp) {
  expect(r.code).toBe(1);
  expect(r.stdout.trim().split("\n")).toHaveLength(1);
  expect(r.json).not.toBeNull();
  expect(r.json!.code).toBe(code);
  expect(typeof r.json!.msg).toBe("string");
  expect(typeof r.json!.cniVersion).toBe("string");
  if (msg) expect(String(r.json!.msg) + String(r.json!.details ?? "")).toMatch(msg);
  expect(r.stdout + r.stderr).not.toMatch(/USAGE|--help/);
}

test("VERSION echoes the asked version and lists 0.3.0 to 1.1.0", async () => {
  for (const v of VERSIONS) {
    const r = await mustExec(host, dir, "vmlan", { cniVersion: v }, { command: "VERSION" });
    expect(r).toEqual({ cniVersion: v, supportedVersions: VERSIONS });
  }
  const unknown = await mustExec(host, dir, "vmlan", { cniVersion: "9.9.9" }, { command: "VERSION" });
  expect(unknown!.cniVersion).toBe("1.1.0");
});

describe.each(VERSIONS)("spec %s", (v) => {
  const legacy = v < "1.0.0";
  const id = `proto-${v.replaceAll(".", "")}`;
  const ifname = `e${v.replaceAll(".", "")}`;
  const call = (command: string) => ({ command, containerId: id, netns: netnsPath(ctr), ifname });
  let added: Record<string, unknown>;

  test("ADD returns the spec's result for the version, and configures the container", async () => {
    added = (await mustExec(host, dir, "vmlan", conf(v), call("ADD")))!;
    expect(added.cniVersion).toBe(v);
    const ifaces = added.interfaces as { name: string; mac: string; sandbox?: string; mtu?: number }[];
    expect(ifaces[1]).toMatchObject({ name: ifname, sandbox: netnsPath(ctr) });
    expect(ifaces[1]!.mtu).toBe(v === "1.1.0" ? 1500 : undefined);
    const [ip] = added.ips as { address: string; gateway: string; interface: number; version?: string }[];
    expect(ip!.address).toMatch(/^10\.79\.0\.\d+\/24$/);
    expect(ip!.gateway).toBe("10.79.0.1");
    expect(ip!.interface).toBe(1);
    expect(ip!.version).toBe(legacy ? "4" : undefined);
    expect(added.routes).toEqual([{ dst: "0.0.0.0/0", gw: "10.79.0.1" }]);
    expect(added.dns).toEqual({ nameservers: ["10.79.0.1"], domain: "proto.vmlan", search: ["proto.vmlan"] });
    const link = ctr.ipJson<{ address: string; mtu: number; addr_info: { local: string }[] }[]>(["addr", "show", "dev", ifname])[0]!;
    expect(link.address).toBe(ifaces[1]!.mac);
    expect(link.addr_info.map((a) => a.local)).toContain(ip!.address.split("/")[0]);
    expect(ctr.sh(["ip", "route", "show", "default"])).toContain(`default via 10.79.0.1 dev ${ifname}`);
  });

  test(v >= "0.4.0" ? "CHECK passes against prevResult" : "CHECK is refused (needs 0.4.0)", async () => {
    const r = await execPlugin(host, dir, "vmlan", conf(v, { prevResult: added }), call("CHECK"));
    if (v < "0.4.0") return expectError(r, 1, /does not allow CHECK/);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
  });

  test(v === "1.1.0" ? "STATUS and GC work" : "STATUS and GC are refused (need 1.1.0)", async () => {
    const s = await execPlugin(host, dir, "vmlan", conf(v), { command: "STATUS" });
    const g = await execPlugin(host, dir, "vmlan", conf(v, { "cni.dev/valid-attachments": [{ containerID: id, ifname }] }), { command: "GC" });
    if (v !== "1.1.0") {
      expectError(s, 1, /does not allow STATUS/);
      return expectError(g, 1, /does not allow GC/);
    }
    expect([s.code, s.stdout, g.code, g.stdout]).toEqual([0, "", 0, ""]);
    expect(ctr.run(["ip", "link", "show", ifname]).code).toBe(0); // still valid: GC kept it
  });

  test("DEL removes the interface and is idempotent", async () => {
    for (let i = 0; i < 2; i++) {
      const r = await execPlugin(host, dir, "vmlan", conf(v, { prevResult: added }), call("DEL"));
      expect([r.code, r.stdout]).toEqual([0, ""]);
    }
    expect(ctr.run(["ip", "link", "show", ifname]).code).not.toBe(0);
  });
});

test("CHECK reports an interface deleted behind the plugin's back", async () => {
  const c = { containerId: "check-gone", netns: netnsPath(ctr), ifname: "gone0" };
  const added = await mustExec(host, dir, "vmlan", conf("1.0.0"), { command: "ADD", ...c });
  ctr.sh(["ip", "link", "del", "gone0"]);
  expectError(await execPlugin(host, dir, "vmlan", conf("1.0.0", { prevResult: added }), { command: "CHECK", ...c }), 999, /gone0 is missing/);
  await mustExec(host, dir, "vmlan", conf("1.0.0"), { command: "DEL", ...c });
});

test("CHECK reports an address removed behind the plugin's back", async () => {
  const c = { containerId: "check-addr", netns: netnsPath(ctr), ifname: "addr0" };
  const added = await mustExec(host, dir, "vmlan", conf("1.0.0"), { command: "ADD", ...c });
  ctr.sh(["ip", "addr", "flush", "dev", "addr0"]);
  expectError(await execPlugin(host, dir, "vmlan", conf("1.0.0", { prevResult: added }), { command: "CHECK", ...c }), 999, /addr0 lacks address 10\.79\.0\.\d+\/24/);
  await mustExec(host, dir, "vmlan", conf("1.0.0"), { command: "DEL", ...c });
});

test("two interfaces of one container on a shared network: both work, the first keeps the default route", async () => {
  const ns = createNetns();
  try {
    const call = (ifname: string) => ({ command: "ADD", containerId: "multi", netns: netnsPath(ns), ifname });
    const first = await mustExec(host, dir, "vmlan", conf("1.0.0"), call("eth0"));
    const second = await mustExec(host, dir, "vmlan", conf("1.0.0"), call("eth1"));
    expect(first!.routes).toEqual([{ dst: "0.0.0.0/0", gw: "10.79.0.1" }]);
    expect(second!.routes).toEqual([]);
    expect(ns.sh(["ip", "route", "show", "default"]).trim()).toBe("default via 10.79.0.1 dev eth0");
    for (const ifname of ["eth0", "eth1"]) await mustExec(host, dir, "vmlan", conf("1.0.0"), { ...call(ifname), command: "DEL" });
  } finally {
    ns.delete();
  }
});

test("DEL after the container's namespace is gone releases its lease", async () => {
  const ns = createNetns();
  const c = { containerId: "ns-gone", netns: netnsPath(ns), ifname: "eth0" };
  await mustExec(host, dir, "vmlan", conf("1.0.0"), { command: "ADD", ...c });
  ns.delete();
  const r = await execPlugin(host, dir, "vmlan", conf("1.0.0"), { command: "DEL", ...c });
  expect([r.code, r.stdout]).toEqual([0, ""]);
  const list = await runVmlan(["attachments", "proto", "--all", "--format", "json"], { env: { VMLAN_STATE_DIR: stateDir }, netns: host.name });
  expect((JSON.parse(list.stdout) as { id: string; state: string }[]).find((a) => a.id === "cni:ns-gone:eth0")!.state).toBe("released");
  expect(host.sh(["ip", "-br", "link"])).not.toMatch(/^vlc/m);
});

test("as IPAM (called as bridge calls it): abbreviated result, CHECK, GC, STATUS, DEL twice", async () => {
  const ipam = (extra: Record<string, unknown> = {}) => ({ cniVersion: "1.1.0", name: "outer", type: "bridge", bridge: "vl-proto", ipam: { type: "vmlan", network: "proto", stateDir }, ...extra });
  const c = { containerId: "ipam-1", netns: netnsPath(ctr), ifname: "eth7" };
  const r = (await mustExec(host, dir, "vmlan", ipam(), { command: "ADD", ...c }))!;
  expect(r.interfaces).toBeUndefined();
  const [ip] = r.ips as Record<string, unknown>[];
  expect(Object.keys(ip!).sort()).toEqual(["address", "gateway"]);
  expect(r.dns).toEqual({ nameservers: ["10.79.0.1"], domain: "proto.vmlan", search: ["proto.vmlan"] });
  expect(ctr.run(["ip", "link", "show", "eth7"]).code).not.toBe(0); // IPAM touches no interface
  expect((await execPlugin(host, dir, "vmlan", ipam({ prevResult: r }), { command: "CHECK", ...c })).code).toBe(0);
  expect((await execPlugin(host, dir, "vmlan", ipam(), { command: "STATUS" })).code).toBe(0);
  expectError(await execPlugin(host, dir, "vmlan", { ...ipam(), ipam: { type: "vmlan", network: "absent", stateDir } }, { command: "STATUS" }), 50, /does not exist/);
  // GC keeps what is listed, releases what is not.
  await mustExec(host, dir, "vmlan", ipam({ "cni.dev/valid-attachments": [{ containerID: "ipam-1", ifname: "eth7" }] }), { command: "GC" });
  expect((await execPlugin(host, dir, "vmlan", ipam({ prevResult: r }), { command: "CHECK", ...c })).code).toBe(0);
  await mustExec(host, dir, "vmlan", ipam({ "cni.dev/valid-attachments": [] }), { command: "GC" });
  expectError(await execPlugin(host, dir, "vmlan", ipam({ prevResult: r }), { command: "CHECK", ...c }), 3, /holds no address/);
  for (let i = 0; i < 2; i++) expect((await execPlugin(host, dir, "vmlan", ipam(), { command: "DEL", ...c })).code).toBe(0);
});

test("STATUS is 50 for a network that does not exist and cannot be created", async () => {
  expectError(await execPlugin(host, dir, "vmlan", { cniVersion: "1.1.0", name: "nowhere", type: "vmlan", stateDir }, { command: "STATUS" }), 50, /does not exist/);
});

describe("bad input: one error object with the spec's code", () => {
  const add = { command: "ADD", containerId: "bad", ifname: "eth9", netns: "" };
  beforeAll(() => {
    add.netns = netnsPath(ctr);
  });
  const cases: [string, unknown, Record<string, unknown>, number, RegExp][] = [
    ["stdin that is not JSON", "{nope", {}, 6, /unmarshalling/],
    ["a config without a name", { cniVersion: "1.0.0", type: "vmlan" }, {}, 7, /missing network name/],
    ["a version vmlan does not speak", { ...conf("0.2.0") }, {}, 1, /incompatible CNI versions/],
    ["a config without cniVersion (0.1.0)", { name: "proto", type: "vmlan", stateDir }, {}, 1, /config is "0.1.0"/],
    ["a malformed version", { ...conf("1.x") }, {}, 6, /invalid version/],
    ["ADD without CNI_NETNS", conf("1.0.0"), { netns: undefined }, 4, /CNI_NETNS/],
    ["an unknown CNI_COMMAND", conf("1.0.0"), { command: "FROB" }, 4, /unknown CNI_COMMAND: FROB/],
    ["a container id with a slash", conf("1.0.0"), { containerId: "a/b" }, 4, /CNI_CONTAINERID/],
    ["an interface name that is too long", conf("1.0.0"), { ifname: "eth0123456789abc" }, 4, /CNI_IFNAME/],
    ["an ipam section under type vmlan", { ...conf("1.0.0"), ipam: { type: "host-local" } }, {}, 2, /unsupported field "ipam"/],
    ["a type that is neither vmlan nor ipam vmlan", { ...conf("1.0.0"), type: "bridge" }, {}, 7, /expected type vmlan/],
    ["a missing network without subnet", { cniVersion: "1.0.0", name: "absent", type: "vmlan", stateDir }, {}, 7, /does not exist/],
    ["a mode that does not exist", { ...conf("1.0.0"), mode: "wild" }, {}, 7, /mode "wild"/],
    ["allowSpoofing that is not a boolean", { ...conf("1.0.0"), allowSpoofing: "yes" }, {}, 7, /allowSpoofing "yes"/],
    ["allowSpoofing under ipam (another plugin makes the port)", { cniVersion: "1.0.0", name: "proto", type: "bridge", ipam: { type: "vmlan", allowSpoofing: true } }, {}, 2, /unsupported field "ipam.allowSpoofing"/],
    ["a subnet other than the stored one", { ...conf("1.0.0"), subnet: "10.80.0.0/24" }, {}, 7, /another configuration \(subnet/],
    ["the plugin's own namespace as CNI_NETNS", conf("1.0.0"), { netns: "/proc/self/ns/net" }, 8, /should not be the same/],
    ["a CNI_NETNS that does not exist", conf("1.0.0"), { netns: "/run/netns/vmlan-t-none" }, 8, /CNI_NETNS "\/run\/netns\/vmlan-t-none" is not a network namespace: no such file/],
    ["a CNI_NETNS that is a plain file", conf("1.0.0"), { netns: "/dev/null" }, 8, /is not a network namespace: not a namespace file/],
    ["a CNI_NETNS that is another kind of namespace", conf("1.0.0"), { netns: "/proc/self/ns/ipc" }, 8, /is not a network namespace: another kind of namespace/],
    ["an interface name with a control character", conf("1.0.0"), { ifname: "e\x1bth" }, 4, /invalid CNI_IFNAME "e\\x1bth"/],
  ];
  test.each(cases)("%s", async (_name, body, env, code, msg) => {
    const c = { ...add, ...env } as typeof add;
    expectError(await execPlugin(host, dir, "vmlan", body, { ...c, netns: "netns" in env ? (env.netns as string) : add.netns }), code, msg);
  });

  test("interface names the kernel takes that an attachment id cannot hold: added, listed, released", async () => {
    const names = ["eth+1", "é", "x@y"];
    for (const ifname of names) await mustExec(host, dir, "vmlan", conf("1.0.0"), { ...add, containerId: "odd", ifname });
    const list = await runVmlan(["attachments", "proto", "--format", "json"], { env: { VMLAN_STATE_DIR: stateDir }, netns: host.name });
    expect(list.exitCode).toBe(0); // one such name once made the whole listing fail (a stored id it could not read back)
    const odd = (JSON.parse(list.stdout) as Array<{ id: string; state: string }>).filter((a) => a.id.startsWith("cni:odd:"));
    expect(odd.map((a) => [a.id, a.state])).toEqual([["cni:odd:@6574682b31", "active"], ["cni:odd:@c3a9", "active"], ["cni:odd:x@y", "active"]]);
    for (const ifname of names) await mustExec(host, dir, "vmlan", conf("1.0.0"), { ...add, command: "DEL", containerId: "odd", ifname });
    const after = JSON.parse((await runVmlan(["attachments", "proto", "--format", "json"], { env: { VMLAN_STATE_DIR: stateDir }, netns: host.name })).stdout) as Array<{ id: string; state: string }>;
    expect(after.filter((a) => a.id.startsWith("cni:odd:") && a.state === "active")).toEqual([]);
  });

  test("an interface name that already exists in the container", async () => {
    ctr.sh(["ip", "link", "add", "taken0", "type", "veth", "peer", "name", "taken1"]);
    const r = await execPlugin(host, dir, "vmlan", conf("1.0.0"), { ...add, ifname: "taken0" });
    expectError(r, 104, /taken0 already exists/);
    // The failed ADD left nothing: no lease held, no host end on the bridge.
    const list = await mustExec(host, dir, "vmlan", conf("1.1.0", { "cni.dev/valid-attachments": [] }), { command: "GC" });
    expect(list).toBeNull();
    expect(host.sh(["ip", "-br", "link"])).not.toMatch(/^vlc/m);
  });
});
