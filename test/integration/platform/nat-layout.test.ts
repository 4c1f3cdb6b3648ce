/**
 * vmlan's one nftables table (src/platform/linux/nat-rules.ts) against the real kernel, in a
 * namespace of its own: a network's setup and teardown touch only its own chains and elements, the
 * many-network paths (system start/stop) leave nothing behind, and the layout before it (one table
 * per network, from an older vmlan still loaded) is retired in the same transaction, never left
 * to filter and NAT a second time. Traffic through these rules: platform/linux.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { HostNetworkSpec } from "../../../src/platform/types.ts";
import type { PortRule } from "../../../src/core/ports/state.ts";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";
import { dispatched, inetTables, legacyPortChains, legacySharedTable, networkRules } from "../../support/nat-rules.ts";

let ns: Netns;
const net = (name: string, third: number, mode: "shared" | "host" = "shared"): HostNetworkSpec => ({
  name, bridge: `vl-${name}`, mode, subnet: `10.62.${third}.0/24`, gateway: `10.62.${third}.1`, subnetV6: null, gatewayV6: null, mtu: 1500,
});
const A = net("a", 1);
const B = net("b", 2, "host");
const C = net("c", 3);
const rule: PortRule = { hostIp: "0.0.0.0", hostPort: 8080, hostEnd: 8080, guestPort: 80, proto: "tcp", guestAddress: "10.62.1.5" };

function platform(op: string, arg: unknown): unknown {
  const r = ns.run([BUN, "test/support/platform-run.ts", op, JSON.stringify(arg)]);
  const out = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as { ok: boolean; result?: unknown; error?: { message: string } };
  if (!out.ok) throw new Error(`${op}: ${out.error?.message ?? r.stderr}`);
  return out.result;
}
/** The network's chains with their rules' handles: a chain flushed and refilled gets new ones. */
const withHandles = (bridge: string) => ["from", "to", "snat", "guard"].map((c) => ns.run(["nft", "-a", "list", "chain", "inet", "vmlan", `${c}_${bridge}`]).stdout).join("\n");
const load = (script: string) => { const r = ns.run(["nft", "-f", "-"], { stdin: script }); if (r.code !== 0) throw new Error(r.stderr); };

beforeAll(() => { ns = createNetns(); });
afterAll(() => ns?.delete());

describe("one table, a network's own chains", () => {
  test("adding and removing a network leaves every other network's chains and elements as they were", () => {
    platform("ensure", A);
    const before = withHandles("vl-a");
    expect(before).toContain("masquerade");
    platform("ensure", B);
    platform("ensure", C);
    expect(inetTables(ns)).toEqual(["vmlan"]);
    platform("remove", C);
    platform("remove", B);
    expect(withHandles("vl-a")).toBe(before); // not even flushed and refilled
    expect(dispatched(ns, "vl-a")).toBe(true);
    for (const b of ["vl-b", "vl-c"]) expect({ b, rules: networkRules(ns, b), dispatched: dispatched(ns, b) }).toEqual({ b, rules: "", dispatched: false });
    // The forward hook sees one base chain whatever the number of networks: two map lookups.
    expect(ns.sh(["nft", "list", "chain", "inet", "vmlan", "forward"])).toMatch(/iifname vmap @fwd_from\s+oifname vmap @fwd_to\s+\}/);
  });

  test("published ports are chains of the network in the same table, gone with it", () => {
    platform("sync-ports", { spec: A, rules: [rule] });
    expect(networkRules(ns, "vl-a")).toContain("dnat ip to 10.62.1.5:80");
    platform("ensure", A); // system start, vm run: the ports stay
    expect(networkRules(ns, "vl-a")).toContain("dnat ip to 10.62.1.5:80");
    platform("remove", A);
    expect(networkRules(ns, "vl-a")).toBe("");
  });

  test("system stop's removeNetworks leaves no vmlan table; system start's ensureNetworks builds all in one go", () => {
    expect(platform("ensure-many", [A, B, C])).toEqual([null, null, null]);
    for (const b of ["vl-a", "vl-b", "vl-c"]) expect(dispatched(ns, b)).toBe(true);
    expect(platform("remove-many", [A, B, C])).toEqual([null, null, null]);
    expect(inetTables(ns)).toEqual([]);
  });
});

describe("upgrade from one table per network", () => {
  test("setup retires the old table's chains in its own transaction; its published ports move at the next sync", () => {
    load(legacySharedTable("vl-a", A.subnet) + legacyPortChains("vl-a", "tcp dport 8080 dnat ip to 10.62.1.5:80"));
    platform("ensure", A);
    // No second forward/NAT/guard: only the old port chains are left, still publishing until the sync.
    const old = ns.sh(["nft", "list", "table", "inet", "vmlan_vl-a"]);
    expect(old).not.toMatch(/chain (forward|postrouting|guard) /);
    expect(old).toContain("dnat ip to 10.62.1.5:80");
    expect(networkRules(ns, "vl-a")).toContain("masquerade");
    platform("sync-ports", { spec: A, rules: [rule] });
    expect(inetTables(ns)).toEqual(["vmlan"]);
    expect(ns.sh(["nft", "list", "ruleset"]).match(/dnat ip to 10\.62\.1\.5:80/g)?.length).toBe(2); // prerouting and output, once each
    platform("remove", A);
  });

  test("system start retires every old table; network rm and system stop take an old table whole", () => {
    load(legacySharedTable("vl-a", A.subnet) + legacySharedTable("vl-c", C.subnet));
    expect(platform("ensure-many", [A, C])).toEqual([null, null]);
    expect(inetTables(ns)).toEqual(["vmlan"]);
    load(legacySharedTable("vl-a", A.subnet) + legacyPortChains("vl-a", "tcp dport 8080 dnat ip to 10.62.1.5:80"));
    platform("remove", A);
    expect(inetTables(ns)).toEqual(["vmlan"]);
    load(legacySharedTable("vl-c", C.subnet));
    expect(platform("remove-many", [C])).toEqual([null]);
    expect(inetTables(ns)).toEqual([]);
  });
});
