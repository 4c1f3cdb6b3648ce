/**
 * Anti-spoofing on vmlan's ports (issue #12 item 2), in the kernel: a hostile guest behind a helper
 * (--socket; --fd with its frames queued before the helper started, in process and through the services
 * daemon) or a native TAP (`run --native`) sends forged frames (another MAC, another address,
 * lying ARP, a VLAN tag, a DHCP server, a DHCP request for another MAC, a router advertisement,
 * foreign IPv6 sources, a group source MAC) and a sniffer on the bridge sees only its honest ones;
 * with --allow-spoofing it sees them all. A guest that picks its own MAC gets it (the lease follows),
 * one that takes a MAC another port holds does not. When the port goes, its rules go (nft's own
 * listing); a port that died without removing them is swept.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";
import { claimedMacs, guardObjects, NO_GUARDS } from "../../support/guard-rules.ts";
import { LineProc, vmlanIn } from "./proc.ts";
import { libc } from "../../../ffi/libc/load.ts";
import { vmSocketpair } from "../../../src/datapath/vm-socket.ts";

const SUPPORT = join(import.meta.dir, "..", "..", "support");
let ns: Netns;
let sniffer: LineProc;
let other: { mac: string; ip: string };
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-spoof-"));
const sockDir = mkdtempSync(join(tmpdir(), "vmlan-spoof-sock-"));
const env = { VMLAN_STATE_DIR: stateDir };
const procs: LineProc[] = [];
const vmlan = (...args: string[]) => runVmlan(args, { env, netns: ns.name });
const attachment = async (id: string) =>
  (JSON.parse((await vmlan("attachments", "g", "--format", "json")).stdout) as Array<Record<string, unknown>>).find((a) => a.id === id);
const HONEST = ["dhcp", "end", "good", "ip6"];
const FORGED = ["arp-sha", "arp-spa", "dhcp-chaddr", "dhcp-server", "group-src", "ip", "ip6-src", "mac", "ra", "vlan"];

function track(p: LineProc): LineProc {
  procs.push(p);
  return p;
}

/** What the sniffer printed from line `from` on, once it saw marker `until` `times` times (or 8 s passed). */
async function sniffed(from: number, until = "end", times = 1): Promise<{ seen: string[]; arp: string[]; lines: string[] }> {
  const end = Date.now() + 8000;
  const lines = () => sniffer.out.slice(from);
  while (lines().filter((l) => l.startsWith(`seen ${until} `)).length < times && Date.now() < end) await Bun.sleep(50);
  const all = lines();
  return { seen: [...new Set(all.filter((l) => l.startsWith("seen ")).map((l) => l.split(" ")[1]!))].sort(), arp: all.filter((l) => l.startsWith("arp ")), lines: all };
}

/** A helper on --socket with the spoofing guest as its client. */
async function socketGuest(id: string, o: { allow?: boolean; mac?: string; only?: string; again?: number } = {}) {
  const sock = join(sockDir, `${id}.sock`);
  const h = track(vmlanIn(ns.name, ["helper", "--network", "g", "--id", id, "--socket", sock, ...(o.allow ? ["--allow-spoofing"] : [])], env));
  const line = JSON.parse(await h.waitFor(/^\{/)) as Record<string, string>;
  const g = track(new LineProc([BUN, join(SUPPORT, "spoof-guest.ts"), "--socket", sock, "--mac", o.mac ?? line.vmnet_mac_address!, "--ip", line.vmlan_address!,
    "--other-mac", other.mac, "--other-ip", other.ip, ...(o.only ? ["--only", o.only] : []), ...(o.again ? ["--again", String(o.again)] : [])], {}));
  return { h, g, line };
}

/** The network's port rules in the anti-spoofing table, as nft lists them. */
function guardRules(): { ports: string[]; sets: string[]; elements: number } {
  const { ports, sets, elements } = guardObjects(ns, "vl-g");
  return { ports, sets, elements };
}
const NO_RULES = { ports: [], sets: [], elements: 0 };

beforeAll(async () => {
  ns = createNetns();
  const r = await vmlan("network", "create", "g", "--subnet", "10.77.0.0/24", "--subnet-v6", "fd77::/64", "--mode", "host");
  if (r.exitCode !== 0) throw new Error(`network create: ${r.stderr}`);
  const a = JSON.parse((await vmlan("attach", "g", "--id", "neighbour", "--format", "json")).stdout);
  other = { mac: a.mac, ip: a.address };
  sniffer = track(new LineProc(["ip", "netns", "exec", ns.name, BUN, join(SUPPORT, "sniffer.ts"), "--bridge", "vl-g"], { VMLAN_TEST_NETNS: ns.name }));
  await sniffer.waitFor(/^ready/);
});
afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
  ns?.delete();
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(sockDir, { recursive: true, force: true });
});

describe("forged frames are dropped in the kernel", () => {
  test("behind a helper: only the guest's honest frames reach the bridge", async () => {
    const from = sniffer.out.length;
    const { h } = await socketGuest("honest");
    const { seen, arp } = await sniffed(from);
    expect(seen).toEqual(HONEST);
    expect(arp).toEqual([]); // both ARP frames lied
    h.kill("SIGTERM");
    expect(await h.exited()).toBe(0);
  });

  test("behind a helper on --fd: frames the VM queued before its helper started meet the rules too (installed after the start line, before the forwarding)", async () => {
    const a = JSON.parse((await vmlan("attach", "g", "--id", "queued", "--format", "json")).stdout) as { mac: string; address: string };
    const [vmEnd, helperEnd] = vmSocketpair();
    const g = track(new LineProc([BUN, join(SUPPORT, "spoof-guest.ts"), "--fd", "3", "--mac", a.mac, "--ip", a.address, "--other-mac", other.mac, "--other-ip", other.ip], {}, [vmEnd]));
    await g.waitFor(/^sent/); // every frame waits in the helper's end of the socketpair
    const from = sniffer.out.length;
    const h = track(vmlanIn(ns.name, ["helper", "--network", "g", "--id", "queued", "--fd", "3"], { ...env, VMLAN_HELPER_IN_PROCESS: "1" }, [helperEnd]));
    for (const fd of [vmEnd, helperEnd]) libc().close(fd);
    const { seen, arp } = await sniffed(from);
    expect(seen).toEqual(HONEST);
    expect(arp).toEqual([]);
    h.kill("SIGTERM");
    expect(await h.exited()).toBe(0);
  });

  test("behind a helper on --fd through the services daemon: the queued frames meet the rules too (the daemon installs them after its reply, the helper forwards only once they are in)", async () => {
    const daemon = track(vmlanIn(ns.name, ["services", "run"], env));
    await daemon.waitFor(/serving helpers' ports on /, { stream: "err" });
    try {
      const a = JSON.parse((await vmlan("attach", "g", "--id", "queued-d", "--format", "json")).stdout) as { mac: string; address: string };
      const [vmEnd, helperEnd] = vmSocketpair();
      const g = track(new LineProc([BUN, join(SUPPORT, "spoof-guest.ts"), "--fd", "3", "--mac", a.mac, "--ip", a.address, "--other-mac", other.mac, "--other-ip", other.ip], {}, [vmEnd]));
      await g.waitFor(/^sent/);
      const from = sniffer.out.length;
      const h = track(vmlanIn(ns.name, ["helper", "-v", "--network", "g", "--id", "queued-d", "--fd", "3"], env, [helperEnd]));
      for (const fd of [vmEnd, helperEnd]) libc().close(fd);
      await h.waitFor(/^\{/);
      expect(h.err.join("\n")).toMatch(/port vlt\d+ from the services daemon/);
      const { seen, arp } = await sniffed(from);
      expect(seen).toEqual(HONEST);
      expect(arp).toEqual([]);
      h.kill("SIGTERM");
      expect(await h.exited()).toBe(0);
    } finally {
      daemon.kill("SIGTERM");
      await daemon.exited();
    }
  });

  test("behind a native TAP (vmlan run --native): the same", async () => {
    const from = sniffer.out.length;
    const p = track(vmlanIn(ns.name, ["run", "--native", "--network", "g", "--id", "native", "--", BUN, join(SUPPORT, "spoof-guest.ts"),
      "--fd", "{fd}", "--mac", "{mac}", "--ip", "{ip}", "--other-mac", other.mac, "--other-ip", other.ip], env));
    const { seen, arp } = await sniffed(from);
    expect(seen).toEqual(HONEST);
    expect(arp).toEqual([]);
    p.kill("SIGTERM");
    await p.exited();
  });

  test("behind the broker's TAP (vmlan run --broker --native; also what helper --broker gets): the same", async () => {
    const broker = track(vmlanIn(ns.name, ["broker"], env));
    await broker.waitFor(/listening on/, { stream: "err" });
    const from = sniffer.out.length;
    const p = track(vmlanIn(ns.name, ["run", "--broker", "--native", "--network", "g", "--id", "brokered", "--", BUN, join(SUPPORT, "spoof-guest.ts"),
      "--fd", "{fd}", "--mac", "{mac}", "--ip", "{ip}", "--other-mac", other.mac, "--other-ip", other.ip], env));
    const { seen, arp } = await sniffed(from);
    expect(seen).toEqual(HONEST);
    expect(arp).toEqual([]);
    p.kill("SIGTERM");
    await p.exited();
    broker.kill("SIGTERM");
    await broker.exited();
  });

  test("--allow-spoofing (stored with the attachment) lets everything through", async () => {
    const from = sniffer.out.length;
    const { h } = await socketGuest("trusted", { allow: true });
    const { seen, arp } = await sniffed(from);
    // Every case but a group source MAC, which the bridge itself never forwards (ARP frames carry no marker: counted apart).
    expect(seen).toEqual([...HONEST, ...FORGED.filter((c) => !["group-src", "arp-sha", "arp-spa"].includes(c))].sort());
    expect(arp.length).toBe(2);
    expect(await attachment("trusted")).toMatchObject({ allowSpoofing: true });
    h.kill("SIGTERM");
    expect(await h.exited()).toBe(0);
  });
});

describe("the port's MAC is the first one it sends", () => {
  test("a guest that picks its own MAC gets it: the lease follows, and DHCP works for it", async () => {
    const own = "02:77:00:00:00:01";
    const from = sniffer.out.length;
    // Round one teaches the port its MAC; its DHCP request waits until the lease follows (round two).
    const { h } = await socketGuest("picky", { mac: own, only: "good,dhcp", again: 1500 });
    const { seen, lines } = await sniffed(from, "end", 2);
    expect(seen).toEqual(["dhcp", "end", "good"]);
    expect(lines.filter((l) => l.startsWith("seen dhcp ")).length).toBe(1);
    expect(await attachment("picky")).toMatchObject({ mac: own });
    h.kill("SIGTERM");
    await h.exited();
  });

  test("a guest whose first frame takes a MAC another port holds never gets through", async () => {
    const holder = await socketGuest("holder", { only: "good" });
    const holderMac = holder.line.vmnet_mac_address!;
    await sniffed(sniffer.out.length, "end");
    await Bun.sleep(600); // the holder's port is pinned to its MAC within 250 ms of its first frame
    const from = sniffer.out.length;
    const { h } = await socketGuest("thief", { mac: holderMac, only: "good", again: 1000 });
    await Bun.sleep(2500);
    expect(sniffer.out.slice(from).filter((l) => l.startsWith("seen "))).toEqual([]);
    expect((await attachment("thief"))?.mac).not.toBe(holderMac);
    for (const p of [h, holder.h]) p.kill("SIGTERM");
    await Promise.all([h.exited(), holder.h.exited()]);
  });
});

describe("rules live as long as the port", () => {
  test("a VM whose helper was SIGKILLed gets through the next helper of its id: that helper sweeps the dead port's claim on the MAC (no daemon here)", async () => {
    const claimed = () => claimedMacs(ns, "vl-g");
    const first = await socketGuest("reborn", { only: "good" });
    const mac = first.line.vmnet_mac_address!;
    for (let i = 0; i < 100 && !claimed().includes(mac); i++) await Bun.sleep(50); // the port learned the MAC and is pinned to it
    expect(claimed()).toContain(mac);
    first.h.kill("SIGKILL");
    await first.h.exited();
    const from = sniffer.out.length;
    const next = await socketGuest("reborn", { only: "good", again: 300 }); // the same id: the same MAC, still in `claimed`
    expect(next.line.vmnet_mac_address).toBe(mac);
    expect((await sniffed(from, "good")).seen).toContain("good");
    next.h.kill("SIGTERM");
    expect(await next.h.exited()).toBe(0);
  }, 20_000);

  test("a helper that stops removes its port's rules; a SIGKILLed one's are swept; network rm removes the network's rules", async () => {
    expect(guardRules()).toEqual(NO_RULES); // every port above went
    const { h } = await socketGuest("gone", { only: "good" });
    await sniffed(sniffer.out.length, "end");
    expect(guardRules().ports.length).toBe(1);
    h.kill("SIGKILL");
    await h.exited();
    expect(guardRules().ports.length).toBe(1); // the TAP went with the helper, its rules not yet
    expect((await vmlan("system", "start")).exitCode).toBe(0);
    expect(guardRules()).toEqual(NO_RULES);
    await vmlan("system", "stop");
    expect((await vmlan("network", "rm", "g", "--force")).exitCode).toBe(0);
    expect(guardObjects(ns, "vl-g")).toEqual(NO_GUARDS);
  });
});
