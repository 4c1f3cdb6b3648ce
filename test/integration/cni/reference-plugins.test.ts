/**
 * vmlan as the IPAM of Debian's reference plugins (containernetworking-plugins): `bridge` on vmlan's
 * own bridge vl-lab (isGateway false: the gateway is vmlan's), `macvlan` with the bridge as master.
 * Two containers and a guest (a fake guest on a TAP, attached with `vmlan attach`) reach each other.
 * The plugins run as cnitool runs them: env + stdin, CNI_PATH = a plugin directory of the test's own.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { execPlugin, mustExec, netnsPath, PluginDir } from "../../support/cni.ts";
import { type Guest, startGuest } from "../../support/guests.ts";
import { createNetns, type Netns } from "../../support/netns.ts";

let host: Netns;
let c1: Netns;
let c2: Netns;
let c3: Netns;
let dir: PluginDir;
let guest: Guest | undefined;
let vmAddress = "";
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-cni-ref-"));
const bridgeConf = { cniVersion: "1.0.0", name: "lab", type: "bridge", bridge: "vl-lab", isGateway: false, ipMasq: false, ipam: { type: "vmlan", network: "lab", stateDir } };
const macvlanConf = { cniVersion: "1.0.0", name: "lab", type: "macvlan", master: "vl-lab", mode: "bridge", ipam: { type: "vmlan", network: "lab", stateDir } };

async function vmlan(...args: string[]): Promise<string> {
  const r = await runVmlan(args, { env: { VMLAN_STATE_DIR: stateDir }, netns: host.name });
  if (r.exitCode !== 0) throw new Error(`vmlan ${args.join(" ")} failed (${r.exitCode}): ${r.stderr}`);
  return r.stdout;
}
const addr = (r: Record<string, unknown> | null) => ((r!.ips as { address: string }[])[0]!.address).split("/")[0]!;
const ping = (ns: Netns, ip: string) => ns.run(["ping", "-c", "1", "-W", "2", ip]).stdout;

beforeAll(async () => {
  host = createNetns();
  [c1, c2, c3] = [createNetns(), createNetns(), createNetns()];
  dir = new PluginDir();
  await vmlan("network", "create", "lab", "--subnet", "10.81.0.0/24", "--mode", "host");
});
afterAll(async () => {
  await guest?.stop();
  for (const ns of [c1, c2, c3, host]) ns?.delete();
  dir?.remove();
  rmSync(stateDir, { recursive: true, force: true });
});

test("bridge + ipam vmlan: two containers and a guest on vl-lab reach each other; DEL releases", async () => {
  const r1 = await mustExec(host, dir, "bridge", bridgeConf, { command: "ADD", containerId: "ref-c1", netns: netnsPath(c1), ifname: "eth0", args: "IgnoreUnknown=1;K8S_POD_NAME=web" });
  const r2 = await mustExec(host, dir, "bridge", bridgeConf, { command: "ADD", containerId: "ref-c2", netns: netnsPath(c2), ifname: "eth0" });
  const [a1, a2] = [addr(r1), addr(r2)];
  expect(a1).toMatch(/^10\.81\.0\.\d+$/);
  expect(a2).toMatch(/^10\.81\.0\.\d+$/);
  expect(a1).not.toBe(a2);

  // The guest: an attachment made by `vmlan attach`, a fake guest on a TAP on the same bridge, pinging c1.
  const vm = JSON.parse(await vmlan("attach", "lab", "--id", "vm1", "--format", "json"));
  vmAddress = vm.address;
  guest = await startGuest(host, { bridge: "vl-lab", ip: vm.address, mac: vm.mac, ping: a1, timeoutMs: 4000 });
  expect(await guest.waitFor("ping ")).toBe(`ping ok ${a1}`);
  expect(ping(c1, a2)).toContain("1 received");
  expect(ping(c2, a1)).toContain("1 received");
  expect(ping(c2, vm.address)).toContain("1 received");
  expect(ping(c1, "10.81.0.1")).toContain("1 received"); // vmlan's gateway, not the bridge plugin's

  // vmlan knows them as containers, with the names they asked for.
  const list = JSON.parse(await vmlan("attachments", "lab", "--format", "json")) as { id: string; hostname: string; kind: string; address: string }[];
  expect(list.find((a) => a.address === a1)).toMatchObject({ id: "cni:ref-c1:eth0", hostname: "web", kind: "container" });
  expect(list.find((a) => a.id === "vm1")!.kind).toBe("vm");

  // A port with the lowest possible MAC joins: the bridge (the gateway) keeps its MAC, which bridge's CHECK verifies.
  const bridgeMac = (r1!.interfaces as { name: string; mac: string }[])[0]!.mac;
  host.sh(["ip", "link", "add", "lowmac0", "address", "02:00:00:00:00:01", "type", "veth", "peer", "name", "lowmac1"]);
  host.sh(["ip", "link", "set", "lowmac0", "master", "vl-lab", "up"]);
  expect(host.ipJson<{ address: string }[]>(["link", "show", "vl-lab"])[0]!.address).toBe(bridgeMac);

  // CHECK goes through bridge to vmlan's IPAM; then DEL (twice) releases both addresses.
  const checked = await execPlugin(host, dir, "bridge", { ...bridgeConf, prevResult: r1 }, { command: "CHECK", containerId: "ref-c1", netns: netnsPath(c1), ifname: "eth0" });
  expect([checked.code, checked.stdout]).toEqual([0, ""]);
  for (const [id, ns, r] of [["ref-c1", c1, r1], ["ref-c2", c2, r2]] as const) {
    for (let i = 0; i < 2; i++) await mustExec(host, dir, "bridge", { ...bridgeConf, prevResult: r }, { command: "DEL", containerId: id, netns: netnsPath(ns), ifname: "eth0" });
  }
  const after = JSON.parse(await vmlan("attachments", "lab", "--format", "json")) as { id: string }[];
  expect(after.map((a) => a.id)).toEqual(["vm1"]);
  // A CHECK after DEL finds no reservation.
  const stale = await execPlugin(host, dir, "bridge", { ...bridgeConf, prevResult: r1 }, { command: "CHECK", containerId: "ref-c1", netns: netnsPath(c1), ifname: "eth0" });
  expect(stale.code).not.toBe(0);
});

// macvlan cannot reach its parent's own addresses (the gateway on vl-lab), by design; the guest is a bridge port.
test("macvlan + ipam vmlan on the bridge: the container gets vmlan's address and reaches the guest", async () => {
  const r = await mustExec(host, dir, "macvlan", macvlanConf, { command: "ADD", containerId: "ref-c3", netns: netnsPath(c3), ifname: "eth0" });
  expect(addr(r)).toMatch(/^10\.81\.0\.\d+$/);
  expect(ping(c3, vmAddress)).toContain("1 received");
  await mustExec(host, dir, "macvlan", macvlanConf, { command: "DEL", containerId: "ref-c3", netns: netnsPath(c3), ifname: "eth0" });
  expect(JSON.parse(await vmlan("attachments", "lab", "--format", "json")).map((a: { id: string }) => a.id)).toEqual(["vm1"]);
});
