/**
 * `vmlan cni config`: the conflists it prints work as printed. Each is turned into the plugin's
 * config as libcni does (cniVersion and name of the list injected into the plugin) and ADDed/DELed.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { mustExec, netnsPath, PluginDir } from "../../support/cni.ts";
import { createNetns, type Netns } from "../../support/netns.ts";

let host: Netns;
let ctr: Netns;
let dir: PluginDir;
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-cni-config-"));
const vmlan = (...args: string[]) => runVmlan(args, { env: { VMLAN_STATE_DIR: stateDir }, netns: host.name });

beforeAll(async () => {
  host = createNetns();
  ctr = createNetns();
  dir = new PluginDir();
  expect((await vmlan("network", "create", "cfg", "--subnet", "10.85.0.0/24", "--mode", "host")).exitCode).toBe(0);
});
afterAll(() => {
  ctr?.delete();
  host?.delete();
  dir?.remove();
  rmSync(stateDir, { recursive: true, force: true });
});

/** libcni: each plugin of the list gets the list's cniVersion and name. */
const pluginConf = (list: { cniVersion: string; name: string; plugins: Record<string, unknown>[] }): Record<string, unknown> => ({ cniVersion: list.cniVersion, name: list.name, ...list.plugins[0] });

test.each(["vmlan", "bridge"])("the %s conflist works as printed", async (plugin) => {
  const r = await vmlan("cni", "config", "cfg", "--plugin", plugin);
  expect(r.exitCode).toBe(0);
  const list = JSON.parse(r.stdout);
  expect(list).toMatchObject({ cniVersion: "1.0.0", name: "cfg" });
  const conf = pluginConf(list);
  expect(conf.type).toBe(plugin);
  const call = { containerId: `cfg-${plugin}`, netns: netnsPath(ctr), ifname: `e-${plugin}` };
  const added = await mustExec(host, dir, plugin, conf, { command: "ADD", ...call });
  expect((added!.ips as { address: string }[])[0]!.address).toMatch(/^10\.85\.0\.\d+\/24$/);
  expect(added!.dns).toEqual({ nameservers: ["10.85.0.1"], domain: "cfg.vmlan", search: ["cfg.vmlan"] });
  expect(ctr.run(["ping", "-c", "1", "-W", "2", "10.85.0.1"]).stdout).toContain("1 received");
  await mustExec(host, dir, plugin, { ...conf, prevResult: added }, { command: "DEL", ...call });
});

test("bad values name the flag; an unknown network is not found", async () => {
  const v = await vmlan("cni", "config", "cfg", "--cni-version", "0.2.0");
  expect([v.exitCode, v.stderr.trim()]).toEqual([2, 'error: invalid --cni-version "0.2.0": use one of 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0']);
  const n = await vmlan("cni", "config", "nope");
  expect(n.exitCode).toBe(3);
});

test("a network with an IPv6 prefix: the container gets vmlan's v6 address and route too", async () => {
  expect((await vmlan("network", "create", "cfg6", "--subnet", "10.86.0.0/24", "--subnet-v6", "fd00:86::/64", "--mode", "shared")).exitCode).toBe(0);
  const conf = pluginConf(JSON.parse((await vmlan("cni", "config", "cfg6")).stdout));
  const call = { containerId: "cfg-v6", netns: netnsPath(ctr), ifname: "e-v6" };
  const added = (await mustExec(host, dir, "vmlan", conf, { command: "ADD", ...call }))!;
  const ips = added.ips as { address: string; gateway: string }[];
  expect(ips.map((i) => i.address)).toEqual([expect.stringMatching(/^10\.86\.0\.\d+\/24$/), expect.stringMatching(/^fd00:86::[0-9a-f:]+\/64$/)]);
  expect(ips[1]!.gateway).toBe("fd00:86::1");
  expect(added.routes).toEqual([{ dst: "0.0.0.0/0", gw: "10.86.0.1" }, { dst: "::/0", gw: "fd00:86::1" }]);
  const v6 = ctr.ipJson<{ addr_info: { family: string; local: string; scope: string }[] }[]>(["addr", "show", "dev", "e-v6"])[0]!.addr_info.filter((a) => a.family === "inet6" && a.scope === "global").map((a) => a.local);
  expect(v6).toEqual([ips[1]!.address.split("/")[0]]);
  expect(ctr.run(["ping", "-6", "-c", "1", "-W", "2", "fd00:86::1"]).stdout).toContain("1 received");
  await mustExec(host, dir, "vmlan", { ...conf, prevResult: added }, { command: "CHECK", ...call });
  await mustExec(host, dir, "vmlan", conf, { command: "DEL", ...call });
});
