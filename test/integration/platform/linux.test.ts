/**
 * The Linux platform against the real kernel, entirely inside namespaces this file creates:
 *   ns  — the "host": vmlan's bridges, TAPs and nft tables live here (via test/support/platform-run.ts)
 *   up  — an "upstream" reached from ns over a veth; ns gets a default route to it (inside ns only)
 * Fake guests (test/support/fake-guest.ts) sit on TAPs and answer/send ARP and ping.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { HostNetworkSpec } from "../../../src/platform/types.ts";
import { type Guest, startGuest } from "../../support/guests.ts";
import { BUN, createNetns, linkUpstream, type Netns } from "../../support/netns.ts";
import { dispatched, networkRules } from "../../support/nat-rules.ts";

let ns: Netns;
let up: Netns;
const guests: Guest[] = [];

const UPSTREAM = "10.250.0.2";
const net = (name: string, third: number, mode: "shared" | "host", v6 = false): HostNetworkSpec => ({
  name, bridge: `vl-${name}`, mode, subnet: `10.61.${third}.0/24`, gateway: `10.61.${third}.1`,
  subnetV6: v6 ? `fd00:61:${third}::/64` : null, gatewayV6: v6 ? `fd00:61:${third}::1` : null, mtu: 1400,
});
const A = net("a", 1, "shared", true);
const B = net("b", 2, "host");
const C = net("c", 3, "shared");

type Outcome = { ok: true; result: unknown } | { ok: false; error: { name: string; code?: string; message: string } };
function platform(op: string, arg: unknown): Outcome {
  const r = ns.run([BUN, "test/support/platform-run.ts", op, JSON.stringify(arg)]);
  const last = r.stdout.trim().split("\n").pop() ?? "";
  if (!last.startsWith("{")) throw new Error(`platform-run ${op} printed nothing useful: ${r.stderr}`);
  return JSON.parse(last) as Outcome;
}
function ensureOk(spec: HostNetworkSpec): void {
  expect(platform("ensure", spec)).toEqual({ ok: true, result: null });
}
async function guest(spec: HostNetworkSpec, host: number, ping?: { target: string; timeoutMs: number }): Promise<Guest> {
  const g = await startGuest(ns, {
    bridge: spec.bridge, ip: spec.gateway.replace(/\.1$/, `.${host}`), mac: `02:00:00:61:${spec.gateway.split(".")[2]!.padStart(2, "0")}:${host}`,
    ...(ping ? { ping: ping.target, via: spec.gateway, timeoutMs: ping.timeoutMs } : {}),
  });
  guests.push(g);
  return g;
}
function upstreamCounters(): { masqueraded: number; raw: number } {
  const text = up.sh(["nft", "list", "table", "ip", "count"]);
  const n = (re: RegExp) => Number(re.exec(text)?.[1] ?? "NaN");
  return { masqueraded: n(/ip saddr 10\.250\.0\.1 .*counter packets (\d+)/), raw: n(/ip saddr 10\.61\.0\.0\/16 counter packets (\d+)/) };
}

beforeAll(() => {
  ns = createNetns();
  up = createNetns();
  linkUpstream(ns, up, { nsIf: "wan0", upIf: "eth0", nsAddr: "10.250.0.1", upAddr: UPSTREAM, prefix: 30 });
  // The upstream counts echo requests by source address: the kernel's own view of the masquerade.
  const counted = up.run(["nft", "-f", "-"], {
    stdin: `table ip count {\n chain input {\n  type filter hook input priority 0; policy accept;\n  ip saddr 10.250.0.1 icmp type echo-request counter\n  ip saddr 10.61.0.0/16 counter\n }\n}\n`,
  });
  if (counted.code !== 0) throw new Error(`upstream counters: ${counted.stderr}`);
});

afterAll(async () => {
  await Promise.all(guests.map((g) => g.stop()));
  ns?.delete();
  up?.delete();
});

describe("ensureNetwork", () => {
  test("creates the bridge with gateway addresses, MTU and the vmlan alias", () => {
    ensureOk(A);
    const [link] = ns.ipJson<Array<Record<string, any>>>(["-d", "link", "show", "vl-a"]);
    expect(link!.linkinfo.info_kind).toBe("bridge");
    expect(link!.ifalias).toBe("vmlan:a");
    expect(link!.mtu).toBe(1400);
    expect(link!.flags).toContain("UP");
    const [addr] = ns.ipJson<Array<{ addr_info: Array<{ local: string; prefixlen: number; family: string }> }>>(["addr", "show", "vl-a"]);
    const global = addr!.addr_info.filter((a) => !a.local.startsWith("fe80")).map((a) => `${a.local}/${a.prefixlen}`);
    expect(global.sort()).toEqual(["10.61.1.1/24", "fd00:61:1::1/64"]);
  });

  test("is idempotent and repairs a bridge that was set down", () => {
    ns.sh(["ip", "link", "set", "vl-a", "down"]);
    ensureOk(A);
    ensureOk(A);
    const [addr] = ns.ipJson<Array<{ flags: string[]; addr_info: unknown[] }>>(["addr", "show", "vl-a"]);
    expect(addr!.flags).toContain("UP");
    expect(platform("status", A)).toMatchObject({ ok: true, result: { up: true, nat: true, addresses: ["10.61.1.1/24", "fd00:61:1::1/64"] } });
  });

  test("status without rules reads the bridge's link only: the same up; no nftables, no address or link dumps", () => {
    ns.sh(["nft", "delete", "table", "inet", "vmlan"]); // only vl-a's rules are in it yet
    try {
      expect(platform("status", A)).toMatchObject({ ok: true, result: { up: true, nat: false, detail: "nftables rules missing" } });
      const links = platform("status-links", A) as { ok: boolean; result: Record<string, unknown> };
      expect(links).toMatchObject({ ok: true, result: { up: true, nat: false, addresses: [] } });
      expect(links.result.detail).toBeUndefined();
      expect(links.result.ports).toBeUndefined();
    } finally {
      ensureOk(A);
    }
  });

  test("a fake guest on a TAP on the bridge answers ping from the namespace", async () => {
    const g = await guest(A, 50);
    expect(g.ifname).toMatch(/^vlt\d+$/);
    const [tap] = ns.ipJson<Array<{ master?: string; mtu: number }>>(["link", "show", g.ifname]);
    expect(tap!.master).toBe("vl-a");
    expect(tap!.mtu).toBe(1400);
    const r = ns.run(["ping", "-c", "1", "-W", "2", "10.61.1.50"]);
    expect(r.stdout).toContain("1 received");
  });

  test("shared mode reaches the upstream, which sees the masqueraded source", async () => {
    const g = await guest(A, 51, { target: UPSTREAM, timeoutMs: 3000 });
    expect(await g.waitFor("ping ")).toBe(`ping ok ${UPSTREAM}`);
    const c = upstreamCounters();
    expect(c.masqueraded).toBeGreaterThan(0);
    expect(c.raw).toBe(0);
  });

  test("host mode cannot reach upstream, and two networks cannot reach each other", async () => {
    ensureOk(B);
    ensureOk(C);
    await guest(C, 50);
    const [control, fromHost, aToC, cToA] = await Promise.all([
      guest(B, 55, { target: B.gateway, timeoutMs: 1500 }), // control: the pinging guest itself works
      guest(B, 52, { target: UPSTREAM, timeoutMs: 1500 }),
      guest(A, 53, { target: "10.61.3.50", timeoutMs: 1500 }),
      guest(C, 54, { target: "10.61.1.50", timeoutMs: 1500 }),
    ]);
    expect(await control.waitFor("ping ")).toBe(`ping ok ${B.gateway}`);
    expect(await fromHost.waitFor("ping ")).toBe(`ping fail ${UPSTREAM}`);
    expect(await aToC.waitFor("ping ")).toBe("ping fail 10.61.3.50");
    expect(await cToA.waitFor("ping ")).toBe("ping fail 10.61.1.50");
    // The host itself still reaches guests of a host-mode network.
    await guest(B, 50);
    expect(ns.run(["ping", "-c", "1", "-W", "2", "10.61.2.50"]).stdout).toContain("1 received");
  });
});

describe("ownership and conflicts", () => {
  test("an interface with the bridge's name that is not ours is refused", () => {
    ns.sh(["ip", "link", "add", "vl-evil", "type", "veth", "peer", "name", "evil-peer"]); // no dummy module here
    ns.sh(["ip", "link", "add", "vl-other", "type", "bridge"]);
    ns.sh(["ip", "link", "set", "vl-other", "alias", "vmlan:someone-else"]);
    for (const bridge of ["vl-evil", "vl-other"]) {
      const spec = { ...net("evil", 9, "shared"), bridge };
      for (const op of ["ensure", "remove"]) {
        const r = platform(op, spec);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.error).toMatchObject({ name: "ConflictError", code: "ECONFLICT" });
        if (!r.ok) expect(r.error.message).toContain(bridge);
      }
      expect(ns.run(["ip", "link", "show", bridge]).code).toBe(0); // left alone
    }
    expect(networkRules(ns, "vl-evil")).toBe("");
    expect(ns.sh(["nft", "list", "tables"])).not.toContain("vmlan_vl-evil");
  });

  test("checkSubnetFree refuses a subnet overlapping a route on another interface", () => {
    ns.sh(["ip", "link", "add", "lan0", "type", "veth", "peer", "name", "lan0-peer"]);
    ns.sh(["ip", "addr", "add", "10.70.0.1/16", "dev", "lan0"]);
    ns.sh(["ip", "link", "set", "lan0", "up"]);
    ns.sh(["ip", "link", "set", "lan0-peer", "up"]);
    const r = platform("check-subnet", { cidr: "10.70.5.0/24", bridge: "vl-new" });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toBe("subnet 10.70.5.0/24 overlaps route 10.70.0.0/16 on lan0; choose another subnet");
    // Free space (despite the default route), and our own bridge's route, are fine.
    expect(platform("check-subnet", { cidr: "10.71.0.0/24", bridge: "vl-new" })).toEqual({ ok: true, result: null });
    expect(platform("check-subnet", { cidr: "10.61.1.0/24", bridge: "vl-a" })).toEqual({ ok: true, result: null });
    expect(platform("check-subnet", { cidr: "10.61.1.0/24", bridge: "vl-new" }).ok).toBe(false);
  });
});

describe("removeNetwork", () => {
  test("removes bridge and nft table, and tolerates a second call", async () => {
    for (const spec of [A, B, C]) {
      expect(platform("remove", spec)).toEqual({ ok: true, result: null });
      expect(platform("remove", spec)).toEqual({ ok: true, result: null });
      expect(ns.run(["ip", "link", "show", spec.bridge]).code).not.toBe(0);
      expect(platform("status", spec)).toMatchObject({ ok: true, result: { up: false, nat: false } });
    }
    for (const spec of [A, B, C]) expect({ bridge: spec.bridge, rules: networkRules(ns, spec.bridge), dispatched: dispatched(ns, spec.bridge) }).toEqual({ bridge: spec.bridge, rules: "", dispatched: false });
    expect(ns.sh(["nft", "list", "tables"])).not.toContain("vmlan_");
  });
});
