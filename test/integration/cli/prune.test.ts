// `vmlan system prune`: networks vmlan made on this host whose store is gone (or is another state
// dir's) are removed, bridge and rules, as `network rm` would; this store's networks, foreign
// bridges and bridges in use stay; `vmlan doctor` names them until then (and says whether the
// services daemon serves this store's networks). Everything runs inside a namespace this file creates.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan, vmlanBin } from "../../support/binary.ts";

const ns = `vmlan-t-prune-${process.pid}`;
const gone = mkdtempSync(join(tmpdir(), "vmlan-prune-gone-"));
const mine = mkdtempSync(join(tmpdir(), "vmlan-prune-mine-"));
const vmlanIn = (stateDir: string) => (...args: string[]) => runVmlan(args, { env: { VMLAN_STATE_DIR: stateDir }, netns: ns });
const old = vmlanIn(gone), vmlan = vmlanIn(mine);
const inNs = (...cmd: string[]) => Bun.spawnSync(["ip", "netns", "exec", ns, ...cmd], { stdout: "pipe", stderr: "pipe" });
const linkExists = (dev: string) => inNs("ip", "link", "show", "dev", dev).exitCode === 0;
type DoctorLine = { check: string; status: string; detail: string; fix?: string };
const rulesFor = (bridge: string) => inNs("nft", "list", "ruleset").stdout.toString().split("\n").filter((l) => l.includes(bridge));

beforeAll(async () => {
  expect(Bun.spawnSync(["ip", "netns", "add", ns]).exitCode).toBe(0);
  for (const [name, subnet, mode] of [["web", "10.61.0.0/24", "shared"], ["lab", "10.62.0.0/24", "host"], ["lost", "10.63.0.0/24", "shared"]]) {
    expect((await old("network", "create", name!, "--subnet", subnet!, "--mode", mode!)).exitCode).toBe(0);
  }
  expect((await vmlan("network", "create", "keep", "--subnet", "10.64.0.0/24", "--mode", "shared")).exitCode).toBe(0);
  rmSync(gone, { recursive: true, force: true }); // the old store is deleted; its networks stay on the host
  inNs("ip", "link", "del", "vl-lost"); // and one bridge went by hand: its rules are left
  expect(inNs("ip", "tuntap", "add", "vlt-guest", "mode", "tap").exitCode).toBe(0);
  expect(inNs("ip", "link", "set", "vlt-guest", "master", "vl-lab").exitCode).toBe(0); // lab is in use
  expect(inNs("ip", "link", "add", "vl-foreign", "type", "bridge").exitCode).toBe(0); // not vmlan's
});
afterAll(() => {
  Bun.spawnSync(["ip", "netns", "del", ns]);
  rmSync(mine, { recursive: true, force: true });
});

test("--dry-run lists the unknown networks and changes nothing; this store's network and a foreign bridge are not listed", async () => {
  const r = await vmlan("system", "prune", "--dry-run", "--format", "json");
  expect(r).toMatchObject({ exitCode: 0, stderr: "" });
  expect(JSON.parse(r.stdout)).toEqual([
    { bridge: "vl-lab", network: "lab", ports: ["vlt-guest"], outcome: "in use" },
    { bridge: "vl-lost", network: null, ports: [], outcome: "would remove" },
    { bridge: "vl-web", network: "web", ports: [], outcome: "would remove" },
  ]);
  expect(linkExists("vl-web")).toBe(true);
  expect(rulesFor("vl-web").length).toBeGreaterThan(0);
  expect(rulesFor("vl-lost").length).toBeGreaterThan(0);
});

const leftovers = async () => {
  const r = await vmlan("doctor", "--format", "json");
  return (JSON.parse(r.stdout) as { checks: Array<DoctorLine> }).checks.find((c) => c.check === "leftovers");
};

test("doctor names them and points at prune", async () => {
  expect(await leftovers()).toEqual({
    check: "leftovers", status: "warn",
    detail: "vmlan networks on this host that no network in this store owns: vl-lab (in use), vl-lost, vl-web",
    fix: "vmlan system prune --dry-run, then vmlan system prune",
  });
  // A state dir that does not exist yet: doctor does not make one, and every vmlan network is another's.
  const none = join(mine, "never-made");
  const r = await runVmlan(["doctor", "--format", "json"], { env: { VMLAN_STATE_DIR: none }, netns: ns });
  expect(JSON.parse(r.stdout).checks.find((c: { check: string }) => c.check === "leftovers").detail).toEndWith("vl-keep, vl-lab (in use), vl-lost, vl-web");
  expect(existsSync(none)).toBe(false);
  // A store it cannot read: the line says so, and the other checks still run.
  const bad = mkdtempSync(join(tmpdir(), "vmlan-prune-bad-"));
  try {
    writeFileSync(join(bad, "vmlan.db"), "not a database ".repeat(10));
    const d = await runVmlan(["doctor", "--format", "json"], { env: { VMLAN_STATE_DIR: bad }, netns: ns });
    const checks = JSON.parse(d.stdout).checks as DoctorLine[];
    expect(checks.find((c) => c.check === "store")).toMatchObject({ status: "warn", detail: expect.stringMatching(/^cannot read: cannot open store .*file is not a database/) });
    expect(checks.find((c) => c.check === "privileges")).toMatchObject({ status: "ok" });
  } finally {
    rmSync(bad, { recursive: true, force: true });
  }
});

test("doctor says when no services daemon serves this store's networks, and names its pid when one does", async () => {
  const line = async () => (JSON.parse((await vmlan("doctor", "--format", "json")).stdout).checks as Array<DoctorLine>).find((c) => c.check === "services");
  expect(await line()).toEqual({
    check: "services", status: "warn",
    detail: "the services daemon is not running: guests on 1 network (keep) get no DHCP, DNS or router advertisements from vmlan",
    fix: "vmlan system start",
  });
  const daemon = Bun.spawn(["ip", "netns", "exec", ns, vmlanBin(), "services", "run"], { env: { ...process.env, VMLAN_STATE_DIR: mine }, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  try {
    const dec = new TextDecoder();
    let seen = "";
    for await (const chunk of daemon.stderr) if ((seen += dec.decode(chunk)).includes("serving plugin calls")) break;
    expect(await line()).toMatchObject({ status: "ok", detail: `the services daemon (pid ${daemon.pid}) serves DHCP and DNS on 1 network (keep)` });
  } finally {
    daemon.kill();
    await daemon.exited;
  }
});

test("prune removes them (bridge, NAT and anti-spoofing rules), keeps the one in use, and leaves this store's network working", async () => {
  const r = await vmlan("system", "prune");
  expect(r).toMatchObject({ exitCode: 0, stderr: "" });
  expect(r.stdout.trim().split("\n").map((l) => l.split(/\s{2,}/))).toEqual([
    ["BRIDGE", "NETWORK", "OUTCOME"],
    ["vl-lab", "lab", "in use (vlt-guest): kept"],
    ["vl-lost", "-", "removed"],
    ["vl-web", "web", "removed"],
  ]);
  expect(linkExists("vl-web")).toBe(false);
  expect(rulesFor("vl-web")).toEqual([]);
  expect(rulesFor("vl-lost")).toEqual([]);
  expect(linkExists("vl-lab")).toBe(true);
  expect(linkExists("vl-foreign")).toBe(true);
  const status = JSON.parse((await vmlan("system", "status", "--format", "json")).stdout);
  expect(status.networks).toEqual([expect.objectContaining({ name: "keep", host: expect.objectContaining({ up: true, nat: true }) })]);
});

test("once its port is gone the last one goes too; then there is nothing to prune", async () => {
  inNs("ip", "link", "del", "vlt-guest");
  expect(JSON.parse((await vmlan("system", "prune", "--format", "json")).stdout)).toEqual([{ bridge: "vl-lab", network: "lab", ports: [], outcome: "removed" }]);
  expect(linkExists("vl-lab")).toBe(false);
  const again = await vmlan("system", "prune");
  expect(again).toMatchObject({ exitCode: 0, stdout: "" });
  expect(again.stderr).toContain("nothing to prune");
  expect(JSON.parse((await vmlan("system", "prune", "--format", "json")).stdout)).toEqual([]);
  expect(await leftovers()).toMatchObject({ status: "ok", detail: "every vmlan network on this host is in this store" });
});
