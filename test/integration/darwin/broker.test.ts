/**
 * `vmlan broker` on the darwin platform against the vmnet double, inside a namespace this file creates.
 * The broker (from source, VMLAN_PLATFORM=darwin-double) owns the macOS 26 vmnet network: it creates
 * it on the first acquire, starts one vmnet interface per client, forwards it to one end of a
 * socketpair and passes the other end over SCM_RIGHTS (src/platform/darwin/broker-port.ts). Clients
 * are the compiled Linux binary: `vmlan run --native --broker` (the VM gets the datagram fd itself)
 * and `vmlan helper --broker` (the helper forwards it to its own VM socket) — the client side is the
 * same as with a Linux broker's TAP fd. The double's TAPs sit on the Linux bridge of network "h".
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { libc } from "../../../ffi/libc/load.ts";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM } from "../../../ffi/libc/constants.ts";
import { buildVmnet, type VmnetBuild } from "../../doubles/build.ts";
import { runVmlan } from "../../support/binary.ts";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";
import { LineProc, vmlanIn } from "../helper/proc.ts";

const ROOT = join(import.meta.dir, "..", "..", "..");
const GUEST = join(ROOT, "test", "support", "dgram-guest.ts");
const linux = process.platform === "linux";

let ns: Netns;
let build: VmnetBuild;
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-dbroker-"));
const sock = join(stateDir, "broker.sock");
const env = { VMLAN_STATE_DIR: stateDir };
const procs: LineProc[] = [];
const vmlan = (...args: string[]) => runVmlan(args, { env, netns: ns.name });
const ping = (ip: string) => ns.run(["ping", "-c", "2", "-i", "0.2", "-W", "1", ip]);
const vmnetTaps = () => ns.run(["ip", "-o", "link", "show", "master", "vl-h"]).stdout.split("\n").filter((l) => /: vmd\d+[:@]/.test(l)).length;
const track = (p: LineProc) => (procs.push(p), p);

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

beforeAll(async () => {
  if (!linux) return;
  build = buildVmnet();
  ns = createNetns();
  const r = await vmlan("network", "create", "h", "--subnet", "10.74.0.0/24", "--mode", "host", "--mtu", "1500");
  if (r.exitCode !== 0) throw new Error(`network create: ${r.stderr}`);
});
afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
  ns?.delete();
  rmSync(stateDir, { recursive: true, force: true });
});

describe.skipIf(!linux)("vmlan broker on darwin (vmnet double)", () => {
  test("the broker owns the vmnet network, runs one interface per client and hands out datagram fds; leaving clients stop their interfaces", async () => {
    const benv = { ...env, ...build.env, VMLAN_PLATFORM: "darwin-double", VMLAN_DARWIN_VERSION: "26", VMLAN_DOUBLE_BRIDGE: "vl-h", VMLAN_TEST_NETNS: ns.name };
    const broker = track(new LineProc(["ip", "netns", "exec", ns.name, BUN, join(ROOT, "src", "main.ts"), "broker", "--socket", sock, "--idle-timeout", "1"], benv));
    await broker.waitFor(/listening on/, { stream: "err" });

    // Client 1: the VM command gets the broker's datagram fd as fd 3 (no helper process at all).
    const run = track(vmlanIn(ns.name, ["run", "--native", "--broker", "--broker-socket", sock, "--network", "h", "--id", "vm-run", "--",
      "sh", "-c", `echo "info ip=$VMLAN_IP tap=$VMLAN_TAP"; exec ${BUN} ${GUEST} --fd {fd} --ip {ip} --mac {mac}`], env));
    const info = Object.fromEntries((await run.waitFor(/^info /)).slice(5).split(" ").map((kv) => kv.split("=") as [string, string]));
    await run.waitFor(/^ready/);
    expect(info.tap).toMatch(/^vmnet:[0-9a-f:]{17}$/); // the broker's name for the port
    expect(vmnetTaps()).toBe(1);
    const r = ping(info.ip!);
    expect(r.code, r.stdout + r.stderr).toBe(0);

    // Client 2: `vmlan helper --broker` on a socketpair, its guest pinging client 1's VM.
    const sv = new Int32Array(2);
    expect(libc().socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv)).toBe(0);
    const helper = track(vmlanIn(ns.name, ["helper", "--broker", "--broker-socket", sock, "--fd", "3", "--network", "h", "--id", "vm-helper"], env, [sv[1]!]));
    const line = JSON.parse(await helper.waitFor(/^\{/)) as Record<string, string>;
    libc().close(sv[1]!);
    const g = track(new LineProc([BUN, GUEST, "--fd", "3", "--ip", line.vmlan_address!, "--mac", line.vmnet_mac_address!, "--ping", info.ip!], {}, [sv[0]!]));
    libc().close(sv[0]!);
    expect(await g.waitFor(/^ping (ok|fail)/)).toBe(`ping ok ${info.ip}`);
    expect(vmnetTaps()).toBe(2);

    // The helper leaves: the broker (still running) stops that vmnet interface, so its TAP goes.
    helper.kill("SIGTERM");
    expect(await helper.exited()).toBe(0);
    await until("the broker to stop the helper's vmnet interface", () => vmnetTaps() === 1);
    expect(ping(info.ip!).code).toBe(0); // the other client is untouched

    run.kill("SIGTERM");
    expect(await run.exited()).toBe(0);
    await until("the broker to stop the last vmnet interface", () => vmnetTaps() === 0);
    await until("no holders", async () => {
      const s = JSON.parse((await vmlan("broker", "status", "--socket", sock, "--format", "json")).stdout) as { networks: { holders: unknown[] }[] };
      return s.networks.every((n) => n.holders.length === 0);
    });

    broker.kill("SIGTERM");
    expect(await broker.exited()).toBe(0);
    const err = broker.err.join("\n");
    expect(err).not.toContain("VIOLATION"); // the double saw no misuse of vmnet in the broker
    expect(err).toContain("network h up");
    g.kill();
  });
});
