/**
 * A broker that dies (SIGKILL) leaves networks up; the next broker on the same socket adopts them
 * and tears them down after its idle time, but never under a bridge that still has ports (its
 * predecessor's clients keep their TAPs). A broker on another socket adopts nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan, vmlanBin } from "../../support/binary.ts";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";
import { LineProc } from "../helper/proc.ts";

let ns: Netns;
const dir = mkdtempSync(join(tmpdir(), "vmlan-badopt-"));
const env = { VMLAN_STATE_DIR: dir };
const sock = join(dir, "broker.sock");
const procs: LineProc[] = [];
const vmlan = (...args: string[]) => runVmlan(args, { env, netns: ns.name });
const bridge = (b: string) => ns.run(["ip", "link", "show", b]).code === 0;

function inNs(argv: string[]): LineProc {
  const p = new LineProc(["ip", "netns", "exec", ns.name, ...argv], { ...env, VMLAN_TEST_NETNS: ns.name });
  procs.push(p);
  return p;
}
async function broker(socket = sock): Promise<LineProc> {
  const p = inNs([vmlanBin(), "broker", "--socket", socket, "--idle-timeout", "2"]);
  await p.waitFor(/listening on/, { stream: "err" });
  return p;
}
async function waitGone(b: string, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await Bun.sleep(100)) if (!bridge(b)) return true;
  return !bridge(b);
}

beforeAll(async () => {
  ns = createNetns();
  for (const [name, third] of [["ad1", 31], ["ad2", 32]] as const) {
    expect((await vmlan("network", "create", name, "--subnet", `10.96.${third}.0/24`)).exitCode).toBe(0);
  }
  expect((await vmlan("system", "stop")).exitCode).toBe(0);
});
afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
  ns?.delete();
  rmSync(dir, { recursive: true, force: true });
});

describe("a restarted broker adopts what its predecessor brought up", () => {
  test("killed broker: the next one on the socket tears the network down after its idle time", async () => {
    const a = await broker();
    const c = inNs([BUN, "test/support/broker-client.ts", "--socket", sock, "--connections", "1", "--networks", "ad1"]);
    await c.waitFor(/^held /);
    expect(bridge("vl-ad1")).toBe(true);
    a.kill("SIGKILL");
    c.kill("SIGKILL");
    await Promise.all([a.exited(), c.exited()]);
    const other = await broker(join(dir, "other.sock")); // shares the state dir, not the socket
    expect(other.err.join("\n")).not.toContain("adopted");
    other.kill();
    await other.exited();
    const b = await broker();
    expect(await b.waitFor(/adopted/, { stream: "err" })).toContain("adopted ad1 from the previous broker");
    const s = JSON.parse((await vmlan("broker", "status", "--json", "--socket", sock)).stdout);
    expect(s.networks).toEqual([expect.objectContaining({ name: "ad1", up: true, holders: [] })]);
    expect(await waitGone("vl-ad1", 6000)).toBe(true);
    b.kill();
    await b.exited();
  }, 30_000);

  test("an adopted network whose bridge still has a TAP stays until the TAP goes", async () => {
    const a = await broker();
    const t = inNs([BUN, "test/support/broker-taps.ts", "--socket", sock, "--network", "ad2", "--taps", "1"]);
    await t.waitFor(/^taps /);
    a.kill("SIGKILL");
    await a.exited(); // the client keeps its TAP on the bridge
    const b = await broker();
    await b.waitFor(/adopted ad2/, { stream: "err" });
    expect(await b.waitFor(/port\(s\) still on vl-ad2/, { stream: "err", timeoutMs: 8000 })).toContain("1 port(s)");
    expect(bridge("vl-ad2")).toBe(true);
    t.kill("SIGKILL");
    await t.exited();
    expect(await waitGone("vl-ad2", 8000)).toBe(true);
    b.kill();
    expect(await b.exited()).toBe(0);
  }, 30_000);
});
