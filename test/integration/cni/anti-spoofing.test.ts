/**
 * Anti-spoofing on the containers' veths (issue #12 item 2), as on vmlan's TAPs: a hostile container
 * (raw frames on its interface, from inside its namespace) sends forged frames, and a sniffer on the
 * bridge sees only its honest ones; a container that takes another MAC is cut off. `allowSpoofing`
 * in the config lets everything through. DEL removes the veth's rules, also those of a veth that went
 * with its namespace before the DEL; GC sweeps those of a container never DELeted (an ADD does not:
 * stale rules never apply to a new port). CHECK fails when a veth lost its rules.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { execPlugin, mustExec, netnsPath, PluginDir } from "../../support/cni.ts";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";
import { guardObjects } from "../../support/guard-rules.ts";
import { LineProc } from "../helper/proc.ts";

const SUPPORT = join(import.meta.dir, "..", "..", "support");
const HONEST = ["dhcp", "end", "good", "ip6"];
const FORGED = ["arp-sha", "arp-spa", "dhcp-chaddr", "dhcp-server", "group-src", "ip", "ip6-src", "mac", "ra", "vlan"];
let host: Netns;
let dir: PluginDir;
let sniffer: LineProc;
let bridge = "";
let other: { mac: string; ip: string };
const ctrs: Netns[] = [];
const procs: LineProc[] = [];
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-cni-spoof-"));
const conf = (extra: Record<string, unknown> = {}) => ({ cniVersion: "1.0.0", name: "spoofc", type: "vmlan", subnet: "10.83.0.0/24", mode: "host", stateDir, ...extra });

interface Added { ns: Netns; mac: string; ip: string; hostIf: string; result: Record<string, unknown> }

/** ADDs a new container namespace (eth0) to the network. */
async function addContainer(id: string, extra: Record<string, unknown> = {}): Promise<Added> {
  const ns = createNetns();
  ctrs.push(ns);
  const r = (await mustExec(host, dir, "vmlan", conf(extra), { command: "ADD", containerId: id, netns: netnsPath(ns), ifname: "eth0" }))!;
  const ifaces = r.interfaces as { name: string; mac: string }[];
  const ip = (r.ips as { address: string }[])[0]!.address.split("/")[0]!;
  return { ns, mac: ifaces[1]!.mac, ip, hostIf: ifaces[0]!.name, result: r };
}

const del = (id: string, ns: Netns) => mustExec(host, dir, "vmlan", conf(), { command: "DEL", containerId: id, netns: netnsPath(ns), ifname: "eth0" });

/** Runs spoof-guest inside the container; returns what the sniffer saw of it (marked frames, ARP). */
async function spoof(c: Added, o: { mac?: string; only?: string } = {}): Promise<{ seen: string[]; arp: string[] }> {
  const from = sniffer.out.length;
  const g = new LineProc(["ip", "netns", "exec", c.ns.name, BUN, join(SUPPORT, "spoof-guest.ts"), "--packet", "eth0", "--mac", o.mac ?? c.mac, "--ip", c.ip,
    "--other-mac", other.mac, "--other-ip", other.ip, ...(o.only ? ["--only", o.only] : [])], {});
  procs.push(g);
  await g.waitFor(/^sent /);
  await Bun.sleep(500); // what gets through reaches the sniffer's TAP at once
  g.kill("SIGTERM");
  await g.exited();
  const lines = sniffer.out.slice(from);
  return { seen: [...new Set(lines.filter((l) => l.startsWith("seen ")).map((l) => l.split(" ")[1]!))].sort(), arp: lines.filter((l) => l.startsWith("arp ")) };
}

/** The ports' chains of the network in the anti-spoofing table. */
const guardChains = () => guardObjects(host, bridge).ports;
const ifindex = (name: string) => host.ipJson<{ ifindex: number }[]>(["link", "show", "dev", name])[0]!.ifindex;

let first: Added;

beforeAll(async () => {
  host = createNetns();
  dir = new PluginDir();
  first = await addContainer("spoof-1");
  bridge = host.ipJson<{ master: string }[]>(["link", "show", "dev", first.hostIf])[0]!.master;
  const env = { VMLAN_STATE_DIR: stateDir };
  const a = JSON.parse((await runVmlan(["attach", "spoofc", "--id", "neighbour", "--format", "json"], { env, netns: host.name })).stdout);
  other = { mac: a.mac, ip: a.address };
  sniffer = new LineProc(["ip", "netns", "exec", host.name, BUN, join(SUPPORT, "sniffer.ts"), "--bridge", bridge], { VMLAN_TEST_NETNS: host.name });
  procs.push(sniffer);
  await sniffer.waitFor(/^ready/);
});
afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
  for (const c of ctrs) c.delete();
  host?.delete();
  dir?.remove();
  rmSync(stateDir, { recursive: true, force: true });
});

describe("a container's veth is guarded like a VM's TAP", () => {
  test("forged frames from inside the container never reach the bridge; honest ones do", async () => {
    expect(guardChains()).toEqual([`port_${bridge}_${ifindex(first.hostIf)}`]);
    const { seen, arp } = await spoof(first);
    expect(seen).toEqual(HONEST);
    expect(arp.filter((l) => l !== `arp sha=${first.mac} spa=${first.ip}`)).toEqual([]); // both forged ARP frames lied
  });

  test("a container that takes another MAC (ip link set address) is cut off", async () => {
    const taken = "02:00:00:83:00:99";
    first.ns.sh(["ip", "link", "set", "dev", "eth0", "address", taken]);
    expect((await spoof(first, { mac: taken, only: "good" })).seen).toEqual([]);
    first.ns.sh(["ip", "link", "set", "dev", "eth0", "address", first.mac]);
    expect((await spoof(first, { only: "good" })).seen).toEqual(["end", "good"]);
  });

  test("allowSpoofing in the config: no rules on its veth, everything gets through", async () => {
    const open = await addContainer("spoof-open", { allowSpoofing: true });
    expect(guardChains()).not.toContain(`port_${bridge}_${ifindex(open.hostIf)}`);
    const { seen, arp } = await spoof(open);
    // Every case but a group source MAC, which the bridge itself never forwards (ARP frames carry no marker: counted apart).
    expect(seen).toEqual([...HONEST, ...FORGED.filter((c) => !["group-src", "arp-sha", "arp-spa"].includes(c))].sort());
    expect(arp.length).toBe(2);
    await del("spoof-open", open.ns);
  });

  test("DEL takes the veth's rules along, also after the veth went with its namespace; GC sweeps those never DELeted", async () => {
    const gone = await addContainer("spoof-gone");
    const goneChain = `port_${bridge}_${ifindex(gone.hostIf)}`;
    expect(guardChains()).toContain(goneChain);
    gone.ns.delete(); // the kernel deletes the veth with its namespace (soon after); the runtime's DEL comes later
    for (let i = 0; i < 100 && host.run(["ip", "link", "show", "dev", gone.hostIf]).code === 0; i++) await Bun.sleep(50);
    const next = await addContainer("spoof-next");
    expect(guardChains().sort()).toEqual([`port_${bridge}_${ifindex(first.hostIf)}`, goneChain, `port_${bridge}_${ifindex(next.hostIf)}`].sort()); // inert: that ifindex is gone
    await del("spoof-gone", gone.ns);
    expect(guardChains().sort()).toEqual([`port_${bridge}_${ifindex(first.hostIf)}`, `port_${bridge}_${ifindex(next.hostIf)}`].sort());
    await del("spoof-next", next.ns);
    expect(guardChains()).toEqual([`port_${bridge}_${ifindex(first.hostIf)}`]);
    const lost = await addContainer("spoof-lost");
    lost.ns.delete();
    for (let i = 0; i < 100 && host.run(["ip", "link", "show", "dev", lost.hostIf]).code === 0; i++) await Bun.sleep(50);
    await mustExec(host, dir, "vmlan", conf({ cniVersion: "1.1.0", "cni.dev/valid-attachments": [{ containerID: "spoof-1", ifname: "eth0" }] }), { command: "GC" });
    expect(guardChains()).toEqual([`port_${bridge}_${ifindex(first.hostIf)}`]); // GC released spoof-lost and swept its rules
  });

  test("CHECK fails when a veth lost its rules (a flushed base chain, a deleted table); DEL still cleans up", async () => {
    const check = () => execPlugin(host, dir, "vmlan", conf({ prevResult: first.result }), { command: "CHECK", containerId: "spoof-1", netns: netnsPath(first.ns), ifname: "eth0" });
    expect((await check()).code).toBe(0);
    host.sh(["nft", "flush", "chain", "bridge", "vmlan", "guard"]); // the rules are there, but no frame is sent to them
    expect((await check()).code).toBe(1);
    host.sh(["nft", "delete", "table", "bridge", "vmlan"]);
    const r = await check();
    expect([r.code, r.json?.code]).toEqual([1, 999]);
    expect(String(r.json?.msg)).toContain("lost its anti-spoofing rules");
    await del("spoof-1", first.ns);
    expect(host.run(["ip", "link", "show", "dev", first.hostIf]).code).not.toBe(0);
  });
});
