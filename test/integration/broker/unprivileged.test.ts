/**
 * `vmlan helper --broker` as a permitted non-root user (nobody, in the broker's group) with no access
 * to the state dir at all: the lease comes from the broker's IPAM (attach/detach), the TAP from the
 * broker. A helper that stops releases its lease; one that is SIGKILLed has it released by the
 * broker; with --keep it stays; a client can never detach a lease it did not attach.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { libc } from "../../../ffi/libc/load.ts";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM } from "../../../ffi/libc/constants.ts";
import { runVmlan, vmlanBin } from "../../support/binary.ts";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";
import { LineProc, vmlanIn } from "../helper/proc.ts";

const GUEST = join(import.meta.dir, "..", "..", "support", "dgram-guest.ts");
const NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
let ns: Netns;
const dir = mkdtempSync(join(tmpdir(), "vmlan-unpriv-"));
const sockDir = mkdtempSync(join(tmpdir(), "vmlan-unpriv-sock-"));
chmodSync(dir, 0o700); // nobody can neither read nor write anything in the state dir
chmodSync(sockDir, 0o755);
const sock = join(sockDir, "broker.sock");
const env = { VMLAN_STATE_DIR: dir };
const procs: LineProc[] = [];
const vmlan = (...args: string[]) => runVmlan(args, { env, netns: ns.name });

async function attachments(): Promise<{ id: string; state: string }[]> {
  return JSON.parse((await vmlan("attachments", "u", "--all", "--json")).stdout);
}
const active = async () => (await attachments()).filter((a) => a.state === "active").map((a) => a.id).sort();

/** `vmlan helper --broker` as nobody on one end of a socketpair; a fake guest as root on the other. */
async function helperAsNobody(id: string, ...extra: string[]): Promise<{ h: LineProc; line: Record<string, string | number>; g: LineProc }> {
  const sv = new Int32Array(2);
  expect(libc().socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv)).toBe(0);
  const h = new LineProc(["ip", "netns", "exec", ns.name, ...NOBODY, vmlanBin(), "helper", "--broker", "--broker-socket", sock, "--fd", "3", "--network", "u", "--id", id, ...extra], env, [sv[1]!]);
  procs.push(h);
  const line = JSON.parse(await h.waitFor(/^\{/)) as Record<string, string | number>;
  libc().close(sv[1]!);
  const g = new LineProc([BUN, GUEST, "--fd", "3", "--ip", String(line.vmlan_address), "--mac", String(line.vmnet_mac_address), "--ping", String(line.vmlan_gateway)], {}, [sv[0]!]);
  procs.push(g);
  libc().close(sv[0]!);
  return { h, line, g };
}

beforeAll(async () => {
  ns = createNetns();
  expect((await vmlan("network", "create", "u", "--subnet", "10.96.9.0/24")).exitCode).toBe(0);
  expect((await vmlan("system", "stop")).exitCode).toBe(0);
  const broker = vmlanIn(ns.name, ["broker", "--socket", sock, "--group", "65534", "--idle-timeout", "60"], env);
  procs.push(broker);
  await broker.waitFor(/listening on/, { stream: "err" });
});
afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
  ns?.delete();
  rmSync(dir, { recursive: true, force: true });
  rmSync(sockDir, { recursive: true, force: true });
});

describe("helper --broker without access to the store", () => {
  test("nobody cannot open the store itself (the premise)", async () => {
    const r = await runVmlan(["attachments", "u"], { env, netns: ns.name, wrap: NOBODY });
    expect(r.exitCode).not.toBe(0);
  });

  test("a helper run as nobody gets its lease and TAP from the broker, its guest reaches the gateway; SIGTERM releases the lease", async () => {
    const { h, line, g } = await helperAsNobody("vm-u1");
    expect(String(line.vmlan_address)).toStartWith("10.96.9.");
    expect(line.vmnet_interface_id).toBe("vm-u1");
    expect(await g.waitFor(/^ping /)).toBe(`ping ok ${line.vmlan_gateway}`);
    expect(await active()).toEqual(["vm-u1"]);
    h.kill("SIGTERM");
    expect(await h.exited()).toBe(0);
    expect(await active()).toEqual([]);
    g.kill();
  }, 30_000);

  test("a SIGKILLed helper's lease is released by the broker; with --keep it stays", async () => {
    const a = await helperAsNobody("vm-u2");
    const b = await helperAsNobody("vm-u3", "--keep");
    expect(await active()).toEqual(["vm-u2", "vm-u3"]);
    a.h.kill("SIGKILL");
    b.h.kill("SIGKILL");
    await a.h.exited();
    await b.h.exited();
    for (let i = 0; i < 50 && (await active()).includes("vm-u2"); i++) await Bun.sleep(100);
    expect(await active()).toEqual(["vm-u3"]);
    a.g.kill();
    b.g.kill();
  }, 30_000);

  test("a client may detach only what it attached; bad attach values are refused by the broker with exit-2 codes", async () => {
    const c = ns.run([BUN, "-e", `
      const { BrokerClient } = await import(${JSON.stringify(join(import.meta.dir, "../../../src/broker/client.ts"))});
      const c = BrokerClient.connect(${JSON.stringify(sock)});
      const out = [];
      for (const f of [() => c.detach("u", "vm-u3"), () => c.attach("u", "x", { mac: "01:00:5e:00:00:01" }), () => c.attach("u", "bad id!")]) {
        try { f(); out.push("ok"); } catch (e) { out.push(e.code + " " + e.message); }
      }
      console.log(JSON.stringify(out));`]);
    const out = JSON.parse(c.stdout) as string[];
    expect(out[0]).toBe(`ENOTFOUND broker: this client attached no "vm-u3" on "u"`);
    expect(out[1]).toStartWith("EUSAGE broker: ");
    expect(out[1]).toContain("multicast");
    expect(out[2]).toStartWith("EPROTO broker: invalid request");
    expect(await active()).toEqual(["vm-u3"]);
  }, 30_000);
});
