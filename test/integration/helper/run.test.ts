/**
 * `vmlan run` through the compiled binary, inside a namespace this file creates. The VM command is
 * test/support/dgram-guest.ts on the fd vmlan passes (3), answering ARP/ping for its allocated address.
 *   networks a (10.71.1.0/24) and b (10.71.2.0/24), host mode; TAP fake guests for the bridge side.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { type Guest, startGuest } from "../../support/guests.ts";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";
import { LineProc, vmlanIn } from "./proc.ts";

const GUEST = join(import.meta.dir, "..", "..", "support", "dgram-guest.ts");
let ns: Netns;
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-run-"));
const env = { VMLAN_STATE_DIR: stateDir };
const procs: LineProc[] = [];
const guests: Guest[] = [];
const vmlan = (...args: string[]) => runVmlan(args, { env, netns: ns.name });
const attachments = async (): Promise<Array<Record<string, unknown>>> => JSON.parse((await vmlan("attachments", "--format", "json")).stdout);
const linkExists = (dev: string) => ns.run(["ip", "link", "show", "dev", dev]).code === 0;
const ping = (ip: string) => ns.run(["ping", "-c", "2", "-i", "0.2", "-W", "1", ip]);

/** `vmlan run` whose command reports its env and substituted placeholders, then becomes the guest. */
function runGuest(args: string[], guestArgs: string[] = []): LineProc {
  const report = `echo "info pid=$$ ip=$VMLAN_IP mac=$VMLAN_MAC fd=$VMLAN_FD tap=$VMLAN_TAP ip0=$VMLAN_IP_0 sub={ip}/{prefix} gw={gateway}"`;
  const p = vmlanIn(ns.name, ["run", ...args, "--", "sh", "-c", `${report}; exec ${BUN} ${GUEST} --fd {fd} --ip {ip} --mac {mac} ${guestArgs.join(" ")}`], env);
  procs.push(p);
  return p;
}
const info = async (p: LineProc) => Object.fromEntries((await p.waitFor(/^info /)).slice(5).split(" ").map((kv) => kv.split("=") as [string, string]));

beforeAll(async () => {
  ns = createNetns();
  for (const [name, third] of [["a", 1], ["b", 2]] as const) {
    const r = await vmlan("network", "create", name, "--subnet", `10.71.${third}.0/24`, "--mode", "host");
    if (r.exitCode !== 0) throw new Error(`network create ${name}: ${r.stderr}`);
  }
});
afterAll(async () => {
  for (const p of procs) p.kill("SIGKILL");
  await Promise.all(guests.map((g) => g.stop()));
  ns?.delete();
  rmSync(stateDir, { recursive: true, force: true });
});

describe("vmlan run (helper on a socketpair)", () => {
  test("the command gets fd 3, env and placeholders; its guest answers ping from the namespace and from a guest on the same network only", async () => {
    const p = runGuest(["--network", "a", "--id", "vm-one"]);
    const i = await info(p);
    await p.waitFor(/^ready/);
    const [att] = await attachments();
    expect(att).toMatchObject({ network: "a", id: "vm-one", state: "active", address: i.ip, mac: i.mac });
    expect(i).toMatchObject({ fd: "3", ip0: i.ip, sub: `${i.ip}/24`, gw: "10.71.1.1" });
    expect(i.tap).toMatch(/^vlt\d+$/);
    expect(linkExists(i.tap!)).toBe(true);
    const r = ping(i.ip!);
    expect(r.code, r.stdout + r.stderr).toBe(0);

    const same = await startGuest(ns, { bridge: "vl-a", ip: "10.71.1.200", mac: "02:00:00:71:01:c8", ping: i.ip!, timeoutMs: 4000 });
    guests.push(same);
    expect(await same.waitFor("ping ")).toBe(`ping ok ${i.ip}`);
    // Another network's bridge is another L2 segment: ARP for the guest's address goes unanswered.
    const other = await startGuest(ns, { bridge: "vl-b", ip: "10.71.2.200", mac: "02:00:00:71:02:c8", ping: i.ip!, timeoutMs: 1500 });
    guests.push(other);
    expect(await other.waitFor("ping ")).toBe(`ping fail ${i.ip}`);

    // SIGTERM to vmlan run: the command and the helper stop, exit 0, TAP and attachment gone.
    p.kill("SIGTERM");
    expect(await p.exited()).toBe(0);
    expect(linkExists(i.tap!)).toBe(false);
    expect(await attachments()).toEqual([]);
  });

  test("two networks: fds 3 and 4, one helper each; the guest on the second answers too", async () => {
    const p = vmlanIn(ns.name, ["run", "--network", "a", "--network", "b", "--id", "vm-two", "--", "sh", "-c",
      `echo "info fd1={fd1} ip1={ip1} env=$VMLAN_FD_1"; exec ${BUN} ${GUEST} --fd {fd1} --ip {ip1} --mac {mac1}`], env);
    procs.push(p);
    const line = await p.waitFor(/^info /);
    const ip1 = /ip1=(\S+)/.exec(line)![1]!;
    expect(line).toContain("fd1=4");
    expect(line).toContain("env=4");
    expect(ip1.startsWith("10.71.2.")).toBe(true);
    await p.waitFor(/^ready/);
    expect((await attachments()).map((a) => a.network).sort()).toEqual(["a", "b"]);
    expect(ping(ip1).code).toBe(0);
    p.kill("SIGTERM");
    expect(await p.exited()).toBe(0);
    expect(await attachments()).toEqual([]);
  });

  test("killing the VM command stops the helper: vmlan run exits with the command's status, TAP and lease gone", async () => {
    const p = runGuest(["--network", "a", "--id", "vm-kill"]);
    const i = await info(p);
    await p.waitFor(/^ready/);
    expect(linkExists(i.tap!)).toBe(true);
    process.kill(Number(i.pid), "SIGKILL");
    expect(await p.exited()).toBe(128 + 9);
    expect(linkExists(i.tap!)).toBe(false);
    expect(await attachments()).toEqual([]);
  });

  test("if vmlan run itself is SIGKILLed, its orphaned helper notices and cleans up (TAP and lease gone)", async () => {
    const p = runGuest(["--network", "a", "--id", "vm-orphan"]);
    const i = await info(p);
    await p.waitFor(/^ready/);
    p.kill("SIGKILL");
    await p.exited();
    // The helper removes its TAP and then releases the lease: wait for both (a loaded run saw the
    // TAP gone and the lease still active between the two).
    const end = Date.now() + 5000;
    while ((linkExists(i.tap!) || (await attachments()).length > 0) && Date.now() < end) await Bun.sleep(100);
    expect(linkExists(i.tap!)).toBe(false);
    expect(await attachments()).toEqual([]);
    process.kill(Number(i.pid), "SIGKILL"); // the orphaned guest
  });

  test("--keep leaves the attachment; the same --id gets the same address next time", async () => {
    const p = runGuest(["--network", "a", "--id", "vm-keep", "--keep"]);
    const first = await info(p);
    await p.waitFor(/^ready/);
    p.kill("SIGTERM");
    expect(await p.exited()).toBe(0);
    expect(await attachments()).toEqual([expect.objectContaining({ id: "vm-keep", state: "active", address: first.ip })]);
    const again = runGuest(["--network", "a", "--id", "vm-keep"]);
    expect(await info(again)).toMatchObject({ ip: first.ip, mac: first.mac });
    await again.waitFor(/^ready/); // before that, SIGTERM would hit `sh` ahead of its exec
    again.kill("SIGTERM");
    expect(await again.exited()).toBe(0);
    expect(await attachments()).toEqual([]);
  });

  test("--native: the command gets a TAP fd on the bridge; its guest answers ping", async () => {
    const p = runGuest(["--native", "--network", "a", "--id", "vm-native"]);
    const i = await info(p);
    await p.waitFor(/^ready/);
    expect(ns.sh(["ip", "-o", "link", "show", "dev", i.tap!])).toContain("master vl-a");
    const r = ping(i.ip!);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    p.kill("SIGTERM");
    expect(await p.exited()).toBe(0);
    expect(linkExists(i.tap!)).toBe(false);
    expect(await attachments()).toEqual([]);
  });

  test("a network that is not up is refused before anything starts", async () => {
    ns.sh(["ip", "link", "del", "vl-b"]);
    const r = await vmlan("run", "--network", "b", "--", "true");
    expect(r.exitCode).toBe(6);
    expect(r.stderr).toMatch(/^error: network "b" is not up/);
    expect(await attachments()).toEqual([]);
  });
});
