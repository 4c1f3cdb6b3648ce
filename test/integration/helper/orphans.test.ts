/**
 * Attachment owners and orphans (issue #12 item 10): a helper that dies without cleanup (SIGKILL)
 * must not keep its address. Its attachment records its owner (pid + start time); orphans are
 * released by the services daemon's reconcile, by `system start`, and by an attach that finds the
 * pool full, and the dead helper's socket and lock files go with them. A live owner's id cannot be
 * taken by a second helper.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { createNetns, type Netns } from "../../support/netns.ts";
import { LineProc, vmlanIn } from "./proc.ts";

let ns: Netns;
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-orphans-"));
const sockDir = mkdtempSync(join(tmpdir(), "vmlan-orphans-sock-"));
const env = { VMLAN_STATE_DIR: stateDir };
const procs: LineProc[] = [];
const vmlan = (...args: string[]) => runVmlan(args, { env, netns: ns.name });
const active = async (network: string): Promise<Array<{ id: string; address: string }>> =>
  JSON.parse((await vmlan("attachments", network, "--format", "json")).stdout);

/** Starts `n` socket helpers on `network` and waits for each start line. */
async function helpers(network: string, prefix: string, n: number): Promise<LineProc[]> {
  const out: LineProc[] = [];
  for (let i = 0; i < n; i++) {
    const p = vmlanIn(ns.name, ["helper", "--network", network, "--id", `${prefix}-${i}`, "--socket", join(sockDir, `${prefix}-${i}.sock`)], env);
    procs.push(p);
    out.push(p);
  }
  await Promise.all(out.map((p) => p.waitFor(/^\{/, { timeoutMs: 30_000 })));
  return out;
}

async function killAll(ps: LineProc[]): Promise<void> {
  for (const p of ps) p.kill("SIGKILL");
  await Promise.all(ps.map((p) => p.exited()));
}

async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > end) return v;
    await Bun.sleep(200);
  }
}

const leftovers = (prefix: string) => readdirSync(sockDir).filter((f) => f.startsWith(`${prefix}-`));

beforeAll(async () => {
  ns = createNetns();
  for (const [name, subnet] of [["o", "10.75.0.0/24"], ["p", "10.75.1.0/29"], ["s", "10.75.2.0/24"]]) {
    const r = await vmlan("network", "create", name!, "--subnet", subnet!, "--mode", "host");
    if (r.exitCode !== 0) throw new Error(`network create ${name}: ${r.stderr}`);
  }
});
afterAll(async () => {
  for (const p of procs) p.kill("SIGKILL");
  await vmlan("system", "stop");
  ns?.delete();
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(sockDir, { recursive: true, force: true });
});

describe("orphaned attachments are released", () => {
  test("a second helper cannot take the id of a live one (exit 4, naming its pid)", async () => {
    const [first] = await helpers("o", "live", 1);
    const second = vmlanIn(ns.name, ["helper", "--network", "o", "--id", "live-0", "--socket", join(sockDir, "live-b.sock")], env);
    procs.push(second);
    expect(await second.exited()).toBe(4);
    expect(second.err.join("\n")).toMatch(new RegExp(`^error: id "live-0" on network "o" is in use by pid ${first!.proc.pid}`));
    first!.kill("SIGTERM");
    expect(await first!.exited()).toBe(0);
  });

  test("an attach that finds the pool full first releases the attachments of dead helpers", async () => {
    // 10.75.1.0/29: 5 guest addresses (.2-.6), all taken by helpers that are then SIGKILLed.
    await killAll(await helpers("p", "full", 5));
    expect((await active("p")).length).toBe(5);
    const r = await vmlan("attach", "p", "--id", "newcomer", "--format", "json");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).address).toMatch(/^10\.75\.1\.[2-6]$/);
    expect((await active("p")).map((a) => a.id)).toEqual(["newcomer"]);
    expect(leftovers("full")).toEqual([]); // their sockets and lock files too
  });

  test("system start releases orphans", async () => {
    await killAll(await helpers("s", "boot", 3));
    expect((await active("s")).length).toBe(3);
    const r = await vmlan("system", "start");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await active("s")).toEqual([]);
    expect(leftovers("boot")).toEqual([]);
  });

  test("20 SIGKILLed helpers: 0 orphan attachments after the daemon's next reconcile, no socket or lock file left", async () => {
    const status = await vmlan("services", "status", "--format", "json");
    expect(JSON.parse(status.stdout).running).toBe(true); // started by `system start` above
    const twenty = await helpers("o", "storm", 20);
    expect((await active("o")).length).toBe(20);
    const ids = new Set((await active("o")).map((a) => a.address));
    expect(ids.size).toBe(20);
    await killAll(twenty);
    // The daemon reconciles every 2 s; allow a few rounds on a loaded machine.
    const left = await until("orphans", () => active("o"), (v) => v.length === 0, 10_000);
    expect(left).toEqual([]);
    expect(leftovers("storm")).toEqual([]);
    // Released, not forgotten: the ids keep their sticky claims.
    const all = JSON.parse((await vmlan("attachments", "o", "--all", "--format", "json")).stdout) as Array<{ id: string; state: string }>;
    expect(all.filter((a) => a.id.startsWith("storm-")).every((a) => a.state === "released")).toBe(true);
  });
});
