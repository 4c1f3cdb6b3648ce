/**
 * The plugin under a runtime's worst habits: 50 ADDs at once on one network (each container its own
 * namespace), DELs of containers vmlan never saw and second DELs, and ADDs killed (SIGKILL) at
 * different points, after which GC must leave nothing behind: no lease held, no veth on the bridge.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { attachmentIdFor, hostIfnameFor } from "../../../src/core/containers.ts";
import { cniEnv, execPlugin, mustExec, netnsPath, PluginDir } from "../../support/cni.ts";
import { createNetns, type Netns } from "../../support/netns.ts";

const N = 50;
let host: Netns;
let ctrs: Netns[] = [];
let dir: PluginDir;
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-cni-conc-"));
// Created on first use by whichever of the 50 ADDs gets there first.
const conf = { cniVersion: "1.1.0", name: "many", type: "vmlan", subnet: "10.82.0.0/24", mode: "host", stateDir };

async function activeIds(): Promise<string[]> {
  const r = await runVmlan(["attachments", "many", "--format", "json"], { env: { VMLAN_STATE_DIR: stateDir }, netns: host.name });
  expect(r.exitCode).toBe(0);
  return (JSON.parse(r.stdout) as { id: string }[]).map((a) => a.id);
}
const hostVeths = () => host.sh(["ip", "-br", "link"]).split("\n").filter((l) => l.startsWith("vlc"));

beforeAll(() => {
  host = createNetns();
  ctrs = Array.from({ length: N }, () => createNetns());
  dir = new PluginDir();
});
afterAll(() => {
  for (const ns of [...ctrs, host]) ns?.delete();
  dir?.remove();
  rmSync(stateDir, { recursive: true, force: true });
});

test(`${N} ADDs at once get ${N} distinct addresses, each configured in its container`, async () => {
  const results = await Promise.all(ctrs.map((ns, i) => execPlugin(host, dir, "vmlan", conf, { command: "ADD", containerId: `conc-${i}`, netns: netnsPath(ns), ifname: "eth0" })));
  const failed = results.filter((r) => r.code !== 0).map((r) => r.stdout);
  expect(failed).toEqual([]);
  const addrs = results.map((r) => (r.json!.ips as { address: string }[])[0]!.address);
  expect(new Set(addrs).size).toBe(N);
  ctrs.forEach((ns, i) => expect(ns.sh(["ip", "-br", "addr", "show", "eth0"])).toContain(addrs[i]!));
  expect(hostVeths()).toHaveLength(N);
  expect((await activeIds()).length).toBe(N);
}, 120_000);

test("DEL of all, then DEL again, and DEL of containers vmlan never saw, all succeed", async () => {
  const del = (id: string, ns?: Netns) => execPlugin(host, dir, "vmlan", conf, { command: "DEL", containerId: id, ifname: "eth0", ...(ns ? { netns: netnsPath(ns) } : {}) });
  for (let round = 0; round < 2; round++) {
    const rs = await Promise.all(ctrs.map((ns, i) => del(`conc-${i}`, ns)));
    expect(rs.map((r) => [r.code, r.stdout])).toEqual(rs.map(() => [0, ""]));
  }
  for (const r of [await del("never-seen"), await del("never-seen-either", ctrs[0])]) expect([r.code, r.stdout]).toEqual([0, ""]);
  // A DEL for a network that does not exist, in a state dir that does not exist: nothing to do, success.
  const nowhere = await execPlugin(host, dir, "vmlan", { ...conf, name: "nowhere", stateDir: join(stateDir, "absent") }, { command: "DEL", containerId: "x", ifname: "eth0" });
  expect([nowhere.code, nowhere.stdout]).toEqual([0, ""]);
  expect(hostVeths()).toEqual([]);
  expect(await activeIds()).toEqual([]);
}, 60_000);

test("ADDs killed at any point leave nothing that GC cannot clean", async () => {
  // Kill points spread over an ADD's life (process start, store, veth, configuration inside).
  for (const [i, ms] of [5, 15, 25, 35, 50, 70, 100, 150].entries()) {
    const ns = ctrs[i]!;
    const proc = Bun.spawn(["ip", "netns", "exec", host.name, dir.bin("vmlan")], {
      env: cniEnv(dir, { command: "ADD", containerId: `killed-${i}`, netns: netnsPath(ns), ifname: "eth0" }),
      stdin: new TextEncoder().encode(JSON.stringify(conf)), stdout: "ignore", stderr: "ignore",
    });
    await Bun.sleep(ms);
    // ip netns exec execs the plugin in place (same pid), so this is the plugin itself.
    proc.kill("SIGKILL");
    await proc.exited;
  }
  // Not vacuous: the later kills come after the ADD finished or half-way, so something is left to clean.
  expect((await activeIds()).length + hostVeths().length).toBeGreaterThan(0);
  await mustExec(host, dir, "vmlan", { ...conf, "cni.dev/valid-attachments": [] }, { command: "GC" });
  expect(hostVeths()).toEqual([]);
  expect(await activeIds()).toEqual([]);
  for (const ns of ctrs.slice(0, 8)) expect(ns.run(["ip", "link", "show", "eth0"]).code).not.toBe(0);
}, 60_000);

test("the same ADD again after one killed right after its veth was made: the veth is replaced; a foreign interface of that name is refused", async () => {
  const [ns, other] = [ctrs[10]!, ctrs[11]!];
  const call = { command: "ADD", containerId: "again", netns: netnsPath(ns), ifname: "eth0" } as const;
  const first = await mustExec(host, dir, "vmlan", conf, call);
  const veth = hostIfnameFor("many", attachmentIdFor({ containerId: "again", ifname: "eth0" }));
  // What a kill between the veth's creation and its alias leaves: a veth of the bridge, no alias, its peer still eth0.
  host.sh(["ip", "link", "set", "dev", veth, "alias", ""]);
  expect(host.sh(["ip", "-d", "link", "show", "dev", veth])).not.toContain("alias");
  const again = await mustExec(host, dir, "vmlan", conf, call);
  expect(again!.ips).toEqual(first!.ips);
  expect(host.sh(["ip", "-d", "link", "show", "dev", veth])).toContain("alias vmlan");
  expect(ns.sh(["ip", "-br", "addr", "show", "eth0"])).toContain((first!.ips as { address: string }[])[0]!.address);
  // Someone else's interface under the name vmlan would give the host end: left alone, the ADD refused.
  const theirs = hostIfnameFor("many", attachmentIdFor({ containerId: "theirs", ifname: "eth0" }));
  host.sh(["ip", "link", "add", theirs, "type", "veth", "peer", "name", "theirs-peer"]); // a veth, but on no bridge of ours
  const refused = await execPlugin(host, dir, "vmlan", conf, { command: "ADD", containerId: "theirs", netns: netnsPath(other), ifname: "eth0" });
  expect([refused.code, refused.json?.msg]).toEqual([1, `interface ${theirs} exists and is not vmlan's (alias none)`]);
  expect(host.run(["ip", "link", "show", "dev", theirs]).code).toBe(0);
  expect(other.run(["ip", "link", "show", "eth0"]).code).not.toBe(0);
  host.sh(["ip", "link", "del", theirs]);
  for (const id of ["again", "theirs"]) await mustExec(host, dir, "vmlan", conf, { command: "DEL", containerId: id, netns: netnsPath(id === "again" ? ns : other), ifname: "eth0" });
});

test("GC keeps the attachments the runtime still lists", async () => {
  const keep = await mustExec(host, dir, "vmlan", conf, { command: "ADD", containerId: "kept", netns: netnsPath(ctrs[0]!), ifname: "eth0" });
  await mustExec(host, dir, "vmlan", conf, { command: "ADD", containerId: "dropped", netns: netnsPath(ctrs[1]!), ifname: "eth0" });
  await mustExec(host, dir, "vmlan", { ...conf, "cni.dev/valid-attachments": [{ containerID: "kept", ifname: "eth0" }] }, { command: "GC" });
  expect(await activeIds()).toEqual(["cni:kept:eth0"]);
  expect(ctrs[0]!.sh(["ip", "-br", "addr", "show", "eth0"])).toContain((keep!.ips as { address: string }[])[0]!.address);
  expect(ctrs[1]!.run(["ip", "link", "show", "eth0"]).code).not.toBe(0);
});
