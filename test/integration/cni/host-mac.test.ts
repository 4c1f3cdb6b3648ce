/**
 * A container's veth pair never has the same MAC on both ends. The host end is the container's MAC
 * with its first byte set to fe; a container MAC that already starts with fe (one in 64 of the MACs
 * vmlan derives, or a MAC the runtime asks for) gave both ends the same address. The bridge then held
 * the container's own MAC as a local address: frames to the container went to the bridge itself, so
 * it reached the gateway and never a peer (the podman test's rare "gateway-ok, no guest, no web").
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mustExec, netnsPath, PluginDir } from "../../support/cni.ts";
import { createNetns, type Netns } from "../../support/netns.ts";

let host: Netns;
let dir: PluginDir;
const ctrs: Netns[] = [];
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-cni-hostmac-"));
const conf = (extra: Record<string, unknown> = {}) => ({ cniVersion: "1.0.0", name: "hostmac", type: "vmlan", subnet: "10.86.0.0/24", mode: "host", stateDir, ...extra });

async function add(id: string, extra: Record<string, unknown> = {}): Promise<{ ns: Netns; mac: string; hostMac: string; ip: string }> {
  const ns = createNetns();
  ctrs.push(ns);
  const r = (await mustExec(host, dir, "vmlan", conf(extra), { command: "ADD", containerId: id, netns: netnsPath(ns), ifname: "eth0" }))!;
  const [h, c] = r.interfaces as { name: string; mac: string }[];
  return { ns, mac: c!.mac, hostMac: h!.mac, ip: (r.ips as { address: string }[])[0]!.address.split("/")[0]! };
}

beforeAll(() => {
  host = createNetns();
  dir = new PluginDir();
});
afterAll(() => {
  for (const c of ctrs) c.delete();
  host?.delete();
  dir?.remove();
  rmSync(stateDir, { recursive: true, force: true });
});

test("a container whose MAC starts with fe gets a host end of another MAC, and reaches its peers", async () => {
  const peer = await add("hm-peer");
  const fe = await add("hm-fe", { runtimeConfig: { mac: "fe:86:00:00:00:42" } });
  expect(fe.mac).toBe("fe:86:00:00:00:42");
  expect(fe.hostMac).not.toBe(fe.mac);
  expect(host.sh(["ip", "-br", "link"]).toLowerCase()).not.toContain(` ${fe.mac} `); // not a host (bridge-local) address
  const ping = (from: Netns, to: string) => from.run(["ping", "-c", "1", "-W", "2", to]).code;
  expect(ping(fe.ns, "10.86.0.1")).toBe(0); // the gateway always worked
  expect(ping(fe.ns, peer.ip)).toBe(0);
  expect(ping(peer.ns, fe.ip)).toBe(0);
});
