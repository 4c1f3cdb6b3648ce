/**
 * The broker as users run it: `vmlan broker` (compiled binary) inside a namespace this file
 * creates, with clients that are separate processes (test/support/broker-client.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:net";
import { runVmlan, vmlanBin } from "../../support/binary.ts";
import { createNetns, BUN, type Netns } from "../../support/netns.ts";

let ns: Netns;
const dir = mkdtempSync(join(tmpdir(), "vmlan-broker-"));
// The state dir is private (0700); the permission test's socket lives where nobody can reach it.
const openDir = mkdtempSync(join(tmpdir(), "vmlan-broker-open-"));
chmodSync(openDir, 0o755);
const env = { VMLAN_STATE_DIR: dir };
const sock = join(dir, "broker.sock");
const procs: ReturnType<Netns["spawn"]>[] = [];

const vmlan = (...args: string[]) => runVmlan(args, { env, netns: ns.name });
const status = async () => JSON.parse((await vmlan("broker", "status", "--json", "--socket", sock)).stdout);
const holders = async (net: string) => (await status()).networks.find((n: { name: string }) => n.name === net)?.holders.length ?? 0;
const bridgeExists = (b: string) => ns.run(["ip", "link", "show", b]).code === 0;

function spawn(argv: string[]) {
  const p = ns.spawn(["env", `VMLAN_STATE_DIR=${dir}`, ...argv]);
  procs.push(p);
  return p;
}

async function firstLine(p: ReturnType<Netns["spawn"]>, prefix: string, timeoutMs = 15_000): Promise<string> {
  const reader = p.stdout.getReader();
  let text = "";
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const { value, done } = await Promise.race([reader.read(), Bun.sleep(end - Date.now()).then(() => ({ value: undefined, done: true }))]);
    if (value) text += new TextDecoder().decode(value);
    const line = text.split("\n").find((l) => l.startsWith(prefix));
    if (line) {
      reader.releaseLock();
      return line;
    }
    if (done) break;
  }
  throw new Error(`no "${prefix}" line; got: ${text} ${await new Response(p.stderr).text()}`);
}

async function startBroker(...extra: string[]) {
  const p = spawn([vmlanBin(), "broker", "--socket", sock, "--idle-timeout", "2", ...extra]);
  for (let i = 0; i < 100; i++) {
    if ((await vmlan("broker", "status", "--socket", sock)).exitCode === 0) return p;
    await Bun.sleep(50);
  }
  throw new Error(`broker did not start: ${await new Response(p.stderr).text()}`);
}

beforeAll(async () => {
  ns = createNetns();
  for (const [name, third] of [["alpha", 1], ["beta", 2], ["gamma", 3]] as const) {
    expect((await vmlan("network", "create", name, "--subnet", `10.94.${third}.0/24`)).exitCode).toBe(0);
  }
  await vmlan("system", "stop"); // the broker brings networks up on demand
  await startBroker();
});

afterAll(async () => {
  for (const p of procs) p.kill("SIGKILL");
  await Promise.all(procs.map((p) => p.exited));
  ns?.delete();
  rmSync(dir, { recursive: true, force: true });
  rmSync(openDir, { recursive: true, force: true });
});

describe("broker", () => {
  test("100+ concurrent connections over the same and different networks get consistent counts", async () => {
    const clients = Array.from({ length: 10 }, (_, i) =>
      spawn([BUN, "test/support/broker-client.ts", "--socket", sock, "--connections", "11", "--networks", i % 2 ? "alpha,beta" : "alpha", "--release", "3"]));
    await Promise.all(clients.map((c) => firstLine(c, "held ")));
    // 110 connections; each process released its first 3 holds.
    // Even processes: 8 alpha holds left. Odd: connections 3..10 → alpha at even i (4), beta at odd i (4).
    expect(await holders("alpha")).toBe(5 * 8 + 5 * 4);
    expect(await holders("beta")).toBe(5 * 4);
    expect(bridgeExists("vl-alpha") && bridgeExists("vl-beta")).toBe(true);
    expect(bridgeExists("vl-gamma")).toBe(false); // never acquired: never brought up

    // Killing clients with SIGKILL releases their holds.
    for (const c of clients) c.kill("SIGKILL");
    await Promise.all(clients.map((c) => c.exited));
    for (let i = 0; i < 50 && ((await holders("alpha")) > 0 || (await holders("beta")) > 0); i++) await Bun.sleep(50);
    expect(await holders("alpha")).toBe(0);
    expect(await holders("beta")).toBe(0);
  }, 60_000);

  test("idle teardown removes the bridge after the idle time, not before", async () => {
    const c = spawn([BUN, "test/support/broker-client.ts", "--socket", sock, "--connections", "1", "--networks", "gamma"]);
    await firstLine(c, "held ");
    expect(bridgeExists("vl-gamma")).toBe(true);
    c.kill("SIGKILL");
    await c.exited;
    await Bun.sleep(1000);
    expect(bridgeExists("vl-gamma")).toBe(true); // idle timeout is 2 s
    const s = (await status()).networks.find((n: { name: string }) => n.name === "gamma");
    expect(s.teardownInSeconds).toBeGreaterThan(0);
    await Bun.sleep(2000);
    expect(bridgeExists("vl-gamma")).toBe(false);
  }, 30_000);

  test("two fake guests that joined through the broker (TAP fds over SCM_RIGHTS) reach each other", async () => {
    const a = spawn([BUN, "test/support/broker-client.ts", "--socket", sock, "--guest", "beta", "--ip", "10.94.2.10", "--mac", "02:00:00:94:02:10"]);
    await firstLine(a, "ready ");
    const b = spawn([BUN, "test/support/broker-client.ts", "--socket", sock, "--guest", "beta", "--ip", "10.94.2.11", "--mac", "02:00:00:94:02:11", "--ping", "10.94.2.10"]);
    expect(await firstLine(b, "ping ")).toBe("ping ok 10.94.2.10");
    expect(ns.run(["ping", "-c", "1", "-W", "2", "10.94.2.10"]).stdout).toContain("1 received");
    a.kill("SIGTERM");
    b.kill("SIGTERM");
  }, 30_000);

  test("a client without permission is refused by its credentials", async () => {
    // World-writable socket so file modes let nobody through: the broker's own check must refuse.
    const openSock = join(openDir, "open.sock");
    const p = spawn([vmlanBin(), "broker", "--socket", openSock, "--mode", "0666", "--group", "0"]);
    for (let i = 0; i < 100 && (await vmlan("broker", "status", "--socket", openSock)).exitCode !== 0; i++) await Bun.sleep(50);
    const asNobody = await runVmlan(["broker", "status", "--socket", openSock], { env, netns: ns.name, wrap: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] });
    expect(asNobody.exitCode).toBe(5);
    expect(asNobody.stderr).toContain("uid 65534 may not use this broker");
    const inGroup = await runVmlan(["broker", "status", "--socket", openSock], { env, netns: ns.name, wrap: ["setpriv", "--reuid=65534", "--regid=65534", "--groups=0"] });
    expect(inGroup.exitCode).toBe(0);
    p.kill("SIGTERM");
    await p.exited;
  }, 30_000);

  test("garbage on the socket gets an error reply and a hang-up, never takes the broker down", async () => {
    const send = (bytes: Uint8Array) =>
      new Promise<string>((resolve) => {
        // Connect from inside the namespace is not needed: the socket file is reachable from here.
        const s = connect(sock);
        let out = "";
        s.on("data", (d) => (out += d.toString("latin1")));
        s.on("close", () => resolve(out));
        s.on("error", () => resolve(out));
        s.write(bytes);
        setTimeout(() => s.destroy(), 3000);
      });
    const frame = (o: unknown) => {
      const body = Buffer.from(JSON.stringify(o));
      const head = Buffer.alloc(4);
      head.writeUInt32BE(body.length);
      return new Uint8Array(Buffer.concat([head, body]));
    };
    expect(await send(new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3]))).toContain("over the 65536-byte limit");
    expect(await send(frame({ v: 1, id: 1, op: "format-disk" }))).toContain("invalid request");
    expect(await send(frame({ v: 1, id: 2, op: "acquire", network: "bad name" }))).toContain("invalid network name");
    const nonJson = new Uint8Array([0, 0, 0, 3, 0x7b, 0x7b, 0x7b]);
    expect(await send(nonJson)).toContain("not UTF-8 JSON");
    expect((await vmlan("broker", "status", "--socket", sock)).exitCode).toBe(0);
    const unknown = await runVmlan(["broker", "status", "--socket", sock], { env, netns: ns.name });
    expect(unknown.exitCode).toBe(0);
  }, 30_000);

  test("stop is refused while networks are held; a restart keeps definitions and acquires again", async () => {
    const holder = spawn([BUN, "test/support/broker-client.ts", "--socket", sock, "--connections", "1", "--networks", "alpha"]);
    await firstLine(holder, "held ");
    const refused = await vmlan("broker", "stop", "--socket", sock);
    expect(refused.exitCode).toBe(4);
    expect(refused.stderr).toContain("hold networks; use --force");
    expect((await vmlan("broker", "stop", "--socket", sock, "--force")).exitCode).toBe(0);
    await Bun.sleep(300);
    await startBroker();
    const again = spawn([BUN, "test/support/broker-client.ts", "--socket", sock, "--connections", "1", "--networks", "alpha"]);
    await firstLine(again, "held ");
    expect(await holders("alpha")).toBe(1);
    expect(bridgeExists("vl-alpha")).toBe(true);
    const list = JSON.parse((await vmlan("network", "ls", "--json")).stdout).map((n: { name: string }) => n.name);
    expect(list).toEqual(expect.arrayContaining(["alpha", "beta", "gamma"]));
  }, 30_000);
});
