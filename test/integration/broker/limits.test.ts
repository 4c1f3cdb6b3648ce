/**
 * The broker under floods from permitted clients: it never exits on accept4 EMFILE, caps
 * connections per user, TAPs per connection and per user, takes a released TAP off the bridge,
 * keeps serving other clients throughout, and its descriptors come back to where they were.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan, vmlanBin } from "../../support/binary.ts";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";
import { LineProc } from "../helper/proc.ts";

let ns: Netns;
const dir = mkdtempSync(join(tmpdir(), "vmlan-blim-"));
const sockDir = mkdtempSync(join(tmpdir(), "vmlan-blim-sock-"));
chmodSync(sockDir, 0o755);
const env = { VMLAN_STATE_DIR: dir };
const procs: LineProc[] = [];
const vmlan = (...args: string[]) => runVmlan(args, { env, netns: ns.name });
const GID = 65534; // the group the test users get through setpriv; the brokers allow it
const as = (uid: number) => ["setpriv", `--reuid=${uid}`, `--regid=${GID}`, "--clear-groups"];

function inNs(argv: string[]): LineProc {
  const p = new LineProc(["ip", "netns", "exec", ns.name, ...argv], { ...env, VMLAN_TEST_NETNS: ns.name });
  procs.push(p);
  return p;
}

async function broker(sock: string, nofile: number, ...extra: string[]): Promise<LineProc> {
  const p = inNs(["prlimit", `--nofile=${nofile}:${nofile}`, vmlanBin(), "broker", "--socket", sock, "--group", String(GID), "--mode", "0666", "--idle-timeout", "30", ...extra]);
  await p.waitFor(/listening on/, { stream: "err" });
  return p;
}

const status = async (sock: string) => {
  const r = await vmlan("broker", "status", "--json", "--socket", sock);
  return { exitCode: r.exitCode, stderr: r.stderr, body: r.exitCode === 0 ? JSON.parse(r.stdout) : null };
};

/** status, retried for up to 5 s until the broker answers. */
async function statusSoon(sock: string) {
  let r = await status(sock);
  for (let i = 0; i < 50 && r.exitCode !== 0; i++) {
    await Bun.sleep(100);
    r = await status(sock);
  }
  return r;
}

async function flood(sock: string, uid: number, n: number): Promise<{ p: LineProc; result: { connections: number; open: number; refused: number; other: Record<string, number> } }> {
  const p = inNs([...as(uid), BUN, "test/support/broker-flood.ts", "--socket", sock, "--connections", String(n)]);
  return { p, result: JSON.parse((await p.waitFor(/^flood /, { timeoutMs: 20_000 })).slice(6)) };
}

beforeAll(async () => {
  ns = createNetns();
  expect((await vmlan("network", "create", "lim", "--subnet", "10.96.20.0/24")).exitCode).toBe(0);
  expect((await vmlan("system", "stop")).exitCode).toBe(0);
});
afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
  ns?.delete();
  rmSync(dir, { recursive: true, force: true });
  rmSync(sockDir, { recursive: true, force: true });
});

describe("connection floods", () => {
  test("out of descriptors (accept4 EMFILE): waiting clients are refused with ELIMIT, the broker stays up and its fds come back", async () => {
    const sock = join(sockDir, "emfile.sock");
    // Caps above what 64 descriptors allow, so accept itself runs out.
    const b = await broker(sock, 64, "--max-connections", "1000", "--max-connections-per-user", "1000");
    const before = (await status(sock)).body.openFds as number;
    const { p, result } = await flood(sock, 0, 200);
    expect(result.other).toEqual({});
    expect(result.open + result.refused).toBe(200);
    expect(result.open).toBeLessThan(64);
    expect(result.refused).toBeGreaterThan(100);
    const busy = await status(sock); // everyone is refused cleanly while the descriptors are gone
    expect({ exitCode: busy.exitCode, stderr: busy.stderr }).toEqual({ exitCode: 4, stderr: expect.stringContaining("out of file descriptors") });
    p.kill("SIGKILL");
    await p.exited();
    const after = await statusSoon(sock);
    expect(after.exitCode).toBe(0);
    expect(after.body.openFds).toBeLessThanOrEqual(before + 1);
    expect(b.proc.exitCode).toBeNull();
    expect(b.err.join("\n")).toContain("accept failed (EMFILE)");
    // And it still serves: a TAP for a valid client.
    const t = inNs([BUN, "test/support/broker-taps.ts", "--socket", sock, "--network", "lim", "--taps", "1"]);
    expect(JSON.parse((await t.waitFor(/^taps /)).slice(5)).got[0]).toHaveLength(1);
    t.kill();
    b.kill();
  }, 60_000);

  test("one user cannot take the others' connections: capped per uid (half the fd budget), others keep being served", async () => {
    const sock = join(sockDir, "peruser.sock");
    const b = await broker(sock, 96); // budget 64 connections, 32 per user
    const { p, result } = await flood(sock, 60001, 200);
    expect(result).toEqual({ connections: 200, open: 32, refused: 168, other: {} });
    const other = await flood(sock, 60002, 40);
    expect(other.result).toEqual({ connections: 40, open: 32, refused: 8, other: {} });
    const root = await status(sock); // the budget is full now: root too is told so, at once
    expect(root.exitCode).toBe(4);
    other.p.kill("SIGKILL");
    await other.p.exited();
    const ok = await statusSoon(sock);
    expect(ok.exitCode).toBe(0);
    expect(ok.body.openFds).toBeLessThan(96);
    expect(b.err.join("\n")).not.toContain("EMFILE");
    p.kill("SIGKILL");
    b.kill();
  }, 60_000);
});

describe("TAP caps", () => {
  test("8 TAPs per connection and 64 per user; a released TAP leaves the bridge even while its fd stays open", async () => {
    const sock = join(sockDir, "taps.sock");
    const b = await broker(sock, 4096);
    const one = inNs([...as(60003), BUN, "test/support/broker-taps.ts", "--socket", sock, "--network", "lim", "--taps", "9", "--release-one"]);
    const r1 = JSON.parse((await one.waitFor(/^taps /, { timeoutMs: 20_000 })).slice(5));
    expect(r1.got[0]).toHaveLength(8);
    expect(r1.refused).toEqual([expect.stringMatching(/^ELIMIT: broker: this connection already holds 8 TAPs \(the limit is 8 per connection\)/)]);
    const ports = () => ns.ipJson<{ ifname: string }[]>(["link", "show", "master", "vl-lim"]).map((l) => l.ifname);
    for (let i = 0; i < 50 && ports().includes(r1.released); i++) await Bun.sleep(50);
    expect(ports()).not.toContain(r1.released);
    expect(ns.run(["ip", "link", "show", r1.released]).code).toBe(0); // the client still holds it: detached, not gone
    const many = inNs([...as(60003), BUN, "test/support/broker-taps.ts", "--socket", sock, "--network", "lim", "--connections", "9", "--taps", "8"]);
    const r2 = JSON.parse((await many.waitFor(/^taps /, { timeoutMs: 30_000 })).slice(5));
    // 7 still held by the first client: this one gets 64 - 7 = 57 more.
    expect(r2.got.flat()).toHaveLength(57);
    expect(r2.refused[0]).toMatch(/^ELIMIT: broker: uid 60003 already holds 64 TAPs \(the limit is 64 per user\)/);
    expect(ports()).toHaveLength(64);
    one.kill("SIGKILL");
    many.kill("SIGKILL");
    b.kill();
  }, 90_000);
});
