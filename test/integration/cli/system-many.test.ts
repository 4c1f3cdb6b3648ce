// system start / stop over many networks at once (all rules in one nft transaction, platform/linux
// ensureNetworks): the same end state as one network at a time, and a failure stays with its own
// network. In a namespace this file creates.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";

const ns = `vmlan-t-many-${process.pid}`;
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-many-"));
const vmlan = (...args: string[]) => runVmlan(args, { env: { VMLAN_STATE_DIR: stateDir }, netns: ns, timeoutMs: 60_000 });
const inNs = (...cmd: string[]) => Bun.spawnSync(["ip", "netns", "exec", ns, ...cmd], { stdout: "pipe", stderr: "pipe" });
const linkExists = (dev: string) => inNs("ip", "link", "show", "dev", dev).exitCode === 0;
/** vmlan's tables of one family: `inet` (NAT, isolation) or `bridge` (the ports' anti-spoofing rules): one table each. */
const tables = (family = "inet") => inNs("nft", "list", "tables", family).stdout.toString().split("\n").filter((l) => l.includes("vmlan")).map((l) => l.trim()).sort();
/** The bridges vmlan's inet table has rules for (its forward map's keys). */
function nets(): string[] {
  const r = inNs("nft", "-j", "list", "map", "inet", "vmlan", "fwd_from");
  if (r.exitCode !== 0) return [];
  const map = (JSON.parse(r.stdout.toString()) as { nftables: Array<{ map?: { elem?: Array<[string, unknown]> } }> }).nftables.find((i) => i.map)?.map;
  return (map?.elem ?? []).map((e) => e[0]).sort();
}
/** The networks' sets in the anti-spoofing table (each network has one). */
function claimedSets(): string[] {
  const r = inNs("nft", "-j", "list", "sets", "bridge");
  const items = (JSON.parse(r.stdout.toString() || "{\"nftables\":[]}") as { nftables: Array<{ set?: { table: string; name: string } }> }).nftables;
  return items.flatMap((i) => (i.set?.table === "vmlan" && i.set.name.startsWith("claimed_") ? [i.set.name] : [])).sort();
}
const chain = (name: string) => inNs("nft", "list", "chain", "inet", "vmlan", name);
const NAMES = Array.from({ length: 12 }, (_, i) => `m${String(i).padStart(2, "0")}`);

beforeAll(async () => {
  expect(Bun.spawnSync(["ip", "netns", "add", ns]).exitCode).toBe(0);
  for (const [i, name] of NAMES.entries()) {
    const r = await vmlan("network", "create", name, "--subnet", `10.61.${i}.0/24`, ...(i % 2 ? ["--mode", "host"] : []));
    expect(r.exitCode).toBe(0);
  }
}, 60_000);
afterAll(async () => {
  await vmlan("system", "stop");
  Bun.spawnSync(["ip", "netns", "del", ns]);
  rmSync(stateDir, { recursive: true, force: true });
});

test("system stop then start: every bridge and table back, each network reported", async () => {
  const before = nets();
  expect(before).toHaveLength(NAMES.length);
  expect(tables()).toEqual(["table inet vmlan"]);
  expect((await vmlan("system", "stop")).exitCode).toBe(0);
  expect(tables()).toEqual([]);
  expect(tables("bridge")).toEqual([]);
  expect(NAMES.filter(linkExists)).toEqual([]);
  const r = await vmlan("system", "start", "--format", "json");
  expect(r.exitCode).toBe(0);
  const results = JSON.parse(r.stdout) as Array<{ name: string; ok: boolean; state: string }>;
  expect(results.map((x) => [x.name, x.ok, x.state])).toEqual(["default", ...NAMES].map((n) => [n, true, "up"]));
  expect(nets()).toEqual([...before, "vl-default"].sort());
  expect(tables("bridge")).toEqual(["table bridge vmlan"]); // the ports' anti-spoofing rules: one table too, a claimed set per network
  expect(claimedSets()).toEqual(nets().map((b) => `claimed_${b}`));
  expect(NAMES.map((n) => linkExists(`vl-${n}`))).toEqual(NAMES.map(() => true));
  // A shared network masquerades, a host-only one does not: each kept its own rules.
  expect(chain("snat_vl-m00").stdout.toString()).toContain("masquerade");
  expect(chain("snat_vl-m01").exitCode).not.toBe(0);
  expect(chain("to_vl-m01").stdout.toString()).toContain("drop");
}, 60_000);

test("an interface that took one network's bridge name fails that network only, and is left alone", async () => {
  expect((await vmlan("system", "stop")).exitCode).toBe(0);
  inNs("ip", "link", "add", "vl-m05", "type", "veth", "peer", "name", "m05-peer");
  const r = await vmlan("system", "start");
  expect(r.exitCode).toBe(4);
  expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^error: m05: interface vl-m05 exists and is not vmlan's network "m05"/)]);
  expect(r.stdout).toContain("m04: up\n");
  expect(r.stdout).toContain("m06: up\n");
  expect(nets()).not.toContain("vl-m05");
  expect(nets()).toHaveLength(NAMES.length); // the default network's and 11 of ours
  const stop = await vmlan("system", "stop");
  expect(stop.exitCode).toBe(4);
  expect(stop.stderr).toContain("m05: interface vl-m05 exists and is not vmlan's");
  expect(linkExists("vl-m05")).toBe(true);
  expect(tables()).toEqual([]);
  inNs("ip", "link", "del", "vl-m05");
}, 60_000);
