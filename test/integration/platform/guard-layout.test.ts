/**
 * vmlan's one anti-spoofing table (src/platform/linux/port-guard-rules.ts: `bridge vmlan`, one base
 * chain dispatching by ifindex to each port's chain) against the real kernel, in namespaces of its
 * own: a network's or a port's setup and teardown touch only its own objects; the ports of every
 * network are guarded through that one base chain (a guest's honest frames pass, forged ones do
 * not); and the layout before it (one table per network, each with its own base chain, from an older
 * vmlan still loaded, with ports in use) is retired in the same transaction as the new layout is
 * written: the live ports keep their rules and their learned MACs, the gone ones' rules go.
 * Guests here are veths in namespaces of their own; the spoofing corpus is anti-spoofing.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { HostNetworkSpec } from "../../../src/platform/types.ts";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";
import { bridgeTables, claimedMacs, guardObjects, legacyGuardTable, NO_GUARDS } from "../../support/guard-rules.ts";
import { inetTables, legacySharedTable } from "../../support/nat-rules.ts";

let host: Netns;
const guests: Netns[] = [];
const net = (name: string, third: number): HostNetworkSpec => ({
  name, bridge: `vl-${name}`, mode: "host", subnet: `10.63.${third}.0/24`, gateway: `10.63.${third}.1`, subnetV6: null, gatewayV6: null, mtu: 1500,
});
const A = net("a", 1);
const B = net("b", 2);
const C = net("c", 3);

function platform(op: string, arg: unknown): unknown {
  const r = host.run([BUN, "test/support/platform-run.ts", op, JSON.stringify(arg)]);
  const out = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as { ok: boolean; result?: unknown; error?: { message: string } };
  if (!out.ok) throw new Error(`${op}: ${out.error?.message ?? r.stderr}`);
  return out.result;
}
const load = (script: string) => { const r = host.run(["nft", "-f", "-"], { stdin: script }); if (r.code !== 0) throw new Error(r.stderr); };

interface Guest { ns: Netns; port: string; ifindex: number; mac: string; ip: string }
let seq = 0;
/** A guest namespace cabled to `spec`'s bridge by a veth (host end `gp<n>`), with address `.<host>`; not guarded yet. */
function guest(spec: HostNetworkSpec, last: number): Guest {
  const ns = createNetns();
  guests.push(ns);
  const port = `gp${seq++}`;
  const ip = spec.gateway.replace(/\.1$/, `.${last}`);
  host.sh(["ip", "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns.name]);
  host.sh(["ip", "link", "set", port, "master", spec.bridge, "up"]);
  ns.sh(["ip", "addr", "add", `${ip}/24`, "dev", "eth0"]);
  ns.sh(["ip", "link", "set", "eth0", "up"]);
  const ifindex = Number(host.sh(["cat", `/sys/class/net/${port}/ifindex`]).trim());
  const mac = ns.sh(["cat", "/sys/class/net/eth0/address"]).trim();
  return { ns, port, ifindex, mac, ip };
}
const identity = (g: Guest, pinned = true) => ({ mac: pinned ? g.mac : null, lease: { mac: g.mac, ipv4: g.ip, ipv6: [] } });
/** Whether the guest reaches its gateway from `from` (its own address, or a forged one added for the occasion). */
function reaches(g: Guest, spec: HostNetworkSpec, from = g.ip): boolean {
  if (from !== g.ip) g.ns.sh(["ip", "addr", "add", `${from}/32`, "dev", "eth0"]);
  const r = g.ns.run(["ping", "-c", "1", "-W", "1", "-I", from, spec.gateway]);
  if (from !== g.ip) g.ns.sh(["ip", "addr", "del", `${from}/32`, "dev", "eth0"]);
  return r.code === 0;
}
/** A port's chain with its rules' handles: a chain flushed and refilled gets new ones. */
const chainWithHandles = (chain: string) => host.sh(["nft", "-a", "list", "chain", "bridge", "vmlan", chain]);
const baseChains = () => (JSON.parse(host.sh(["nft", "-j", "list", "chains", "bridge"])).nftables as Array<{ chain?: { hook?: string } }>).filter((i) => i.chain?.hook).length;

beforeAll(() => { host = createNetns(); });
afterAll(() => { for (const g of guests) g.delete(); host?.delete(); });

describe("one table, one base chain, each network's and port's own objects", () => {
  test("adding and removing networks and ports leaves every other's chains, sets and learned MACs as they were", () => {
    platform("ensure", A);
    platform("ensure", B);
    const a = guest(A, 5);
    const b = guest(B, 5);
    platform("guard", { bridge: A.bridge, ifname: a.port, identity: identity(a) });
    platform("guard", { bridge: B.bridge, ifname: b.port, identity: identity(b, false) }); // learning
    expect(reaches(b, B)).toBe(true); // its port learned its MAC
    const before = [chainWithHandles(`port_vl-a_${a.ifindex}`), chainWithHandles(`port_vl-b_${b.ifindex}`), host.sh(["nft", "list", "set", "bridge", "vmlan", `mac_vl-b_${b.ifindex}`])];
    expect(before[2]).toContain(b.mac);
    platform("ensure", C);
    const c = guest(C, 5);
    platform("guard", { bridge: C.bridge, ifname: c.port, identity: identity(c) });
    expect(guardObjects(host, "vl-c")).toEqual({ ports: [`port_vl-c_${c.ifindex}`], sets: [], claimed: true, elements: 1 }); // pinned: its MAC is in its rules
    platform("ensure", A); // system start, vm run: A's setup again
    platform("remove", C);
    expect(guardObjects(host, "vl-c")).toEqual(NO_GUARDS);
    expect([chainWithHandles(`port_vl-a_${a.ifindex}`), chainWithHandles(`port_vl-b_${b.ifindex}`), host.sh(["nft", "list", "set", "bridge", "vmlan", `mac_vl-b_${b.ifindex}`])]).toEqual(before);
    // Every frame of every network meets one base chain: one map lookup, whatever the number of networks.
    expect(bridgeTables(host)).toEqual(["vmlan"]);
    expect(baseChains()).toBe(1);
    expect(host.sh(["nft", "list", "chain", "bridge", "vmlan", "guard"])).toMatch(/\{\s+type filter hook prerouting priority dstnat; policy accept;\s+iif vmap @ports\s+\}/);
  });

  test("through that one chain every network's guests are held to their own addresses and MACs", () => {
    const a2 = guest(A, 6);
    const b2 = guest(B, 6);
    platform("guard", { bridge: A.bridge, ifname: a2.port, identity: identity(a2) });
    platform("guard", { bridge: B.bridge, ifname: b2.port, identity: identity(b2) });
    expect([reaches(a2, A), reaches(b2, B)]).toEqual([true, true]);
    expect([reaches(a2, A, "10.63.1.77"), reaches(b2, B, "10.63.2.77")]).toEqual([false, false]); // another address
    b2.ns.sh(["ip", "link", "set", "eth0", "address", a2.mac]); // another guest's MAC
    expect(reaches(b2, B)).toBe(false);
  });

  test("a gone port's rules are swept with its claim on its MAC, and so is what a gone network left; system stop's removeNetworks leaves no table", () => {
    const gone = guest(A, 9);
    platform("guard", { bridge: A.bridge, ifname: gone.port, identity: identity(gone) });
    expect(claimedMacs(host, "vl-a")).toContain(gone.mac);
    host.sh(["ip", "link", "del", gone.port]);
    expect(platform("sweep-guards", {})).toBe(1);
    expect(guardObjects(host, "vl-a").ports).not.toContain(`port_vl-a_${gone.ifindex}`);
    expect(claimedMacs(host, "vl-a")).not.toContain(gone.mac);
    // A release after its network went (a helper that outlived `network rm`) leaves nothing the sweep keeps.
    expect(platform("forget", { bridge: "vl-c", ifindex: gone.ifindex, pinned: gone.mac })).toBe(true);
    load(legacyGuardTable("vl-gone", [])); // an older vmlan's table of a network whose bridge is gone: no setup will retire it
    platform("sweep-guards", {});
    expect(guardObjects(host, "vl-c")).toEqual(NO_GUARDS);
    expect(bridgeTables(host)).toEqual(["vmlan"]);
    expect(platform("remove-many", [A, B])).toEqual([null, null]);
    expect(bridgeTables(host)).toEqual([]);
  });
});

describe("upgrade from one table per network", () => {
  test("setup moves the old table's live ports, their rules and learned MACs, into the one table in one transaction; gone ports' rules go", () => {
    platform("ensure", A); // the bridge; then the tables as an older vmlan left them
    host.sh(["nft", "delete", "table", "bridge", "vmlan"]);
    host.sh(["nft", "delete", "table", "inet", "vmlan"]);
    const pinned = guest(A, 10);
    const learning = guest(A, 11);
    const lease = (g: Guest) => ({ mac: g.mac, ipv4: g.ip, ipv6: "fe80::1" });
    const goneMac = "02:00:00:63:00:99";
    load(legacySharedTable("vl-a", A.subnet) + legacyGuardTable("vl-a", [
      { ifindex: pinned.ifindex, mac: pinned.mac, lease: lease(pinned) },
      { ifindex: learning.ifindex, mac: null, lease: lease(learning) },
      { ifindex: 99_999, mac: goneMac, lease: null }, // its interface is long gone
    ]));
    expect(reaches(learning, A)).toBe(true); // the old table's port learned its MAC
    const oldRules = (n: number) => host.sh(["nft", "list", "chain", "bridge", "vmlan_vl-a", `port_${n}`]).split("\n").slice(2, -3).map((l) => l.trim());
    const old = [oldRules(pinned.ifindex), oldRules(learning.ifindex)];
    platform("ensure", A);
    expect(bridgeTables(host)).toEqual(["vmlan"]);
    expect(inetTables(host)).toEqual(["vmlan"]);
    expect(guardObjects(host, "vl-a")).toEqual({
      ports: [`port_vl-a_${pinned.ifindex}`, `port_vl-a_${learning.ifindex}`].sort(), sets: [`mac_vl-a_${pinned.ifindex}`, `mac_vl-a_${learning.ifindex}`].sort(), claimed: true, elements: 2,
    });
    const rename = (n: number, r: string) => r.replace(`@mac_${n} `, `@mac_vl-a_${n} `).replace("@claimed ", "@claimed_vl-a ");
    const now = (n: number) => host.sh(["nft", "list", "chain", "bridge", "vmlan", `port_vl-a_${n}`]).split("\n").slice(2, -3).map((l) => l.trim());
    expect([now(pinned.ifindex), now(learning.ifindex)]).toEqual([old[0]!.map((r) => rename(pinned.ifindex, r)), old[1]!.map((r) => rename(learning.ifindex, r))]);
    expect(host.sh(["nft", "list", "set", "bridge", "vmlan", `mac_vl-a_${learning.ifindex}`])).toContain(learning.mac); // learned before, kept
    expect(claimedMacs(host, "vl-a")).toContain(pinned.mac);
    expect(claimedMacs(host, "vl-a")).not.toContain(goneMac);
    // And they hold as before: honest frames pass, another address or MAC does not.
    expect([reaches(pinned, A), reaches(learning, A)]).toEqual([true, true]);
    expect(reaches(pinned, A, "10.63.1.78")).toBe(false);
    learning.ns.sh(["ip", "link", "set", "eth0", "address", "02:00:00:63:00:42"]);
    expect(reaches(learning, A)).toBe(false);
  });

  test("system start retires every old table; network rm and system stop take an old table whole", () => {
    platform("ensure", B);
    const b = guest(B, 10);
    host.sh(["nft", "delete", "table", "bridge", "vmlan"]); // A's and B's ports, as an older vmlan had them
    load(legacyGuardTable("vl-a", []) + legacyGuardTable("vl-b", [{ ifindex: b.ifindex, mac: b.mac, lease: null }]));
    expect(platform("ensure-many", [A, B])).toEqual([null, null]);
    expect(bridgeTables(host)).toEqual(["vmlan"]);
    expect(guardObjects(host, "vl-b").ports).toEqual([`port_vl-b_${b.ifindex}`]);
    load(legacyGuardTable("vl-a", []));
    platform("remove", A);
    expect(bridgeTables(host)).toEqual(["vmlan"]);
    load(legacyGuardTable("vl-b", []));
    expect(platform("remove-many", [B])).toEqual([null]);
    expect(bridgeTables(host)).toEqual([]);
  });
});
