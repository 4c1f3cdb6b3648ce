// Concurrent `network create`: identical creates all succeed (one "created", the rest "unchanged"),
// and creates without --subnet all succeed with distinct next-free /24s. Own namespace.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { createNetns, type Netns } from "../../support/netns.ts";

let ns: Netns;
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-conc-"));
const vmlan = (...args: string[]) => runVmlan(args, { env: { VMLAN_STATE_DIR: stateDir }, netns: ns.name, timeoutMs: 60_000 });

beforeAll(() => {
  ns = createNetns();
});
afterAll(() => {
  ns.delete();
  rmSync(stateDir, { recursive: true, force: true });
});

describe("concurrent network create", () => {
  test("20 identical creates at once: all exit 0, exactly one created, the others unchanged; the bridge is whole", async () => {
    const runs = await Promise.all(Array.from({ length: 20 }, () => vmlan("network", "create", "same", "--subnet", "10.67.0.0/24", "--format", "json")));
    for (const r of runs) expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
    const outcomes = runs.map((r) => JSON.parse(r.stdout).outcome).sort();
    expect(outcomes).toEqual(["created", ...Array(19).fill("unchanged")]);
    const view = JSON.parse((await vmlan("network", "inspect", "same")).stdout)[0];
    expect(view.host).toMatchObject({ up: true, nat: true, addresses: ["10.67.0.1/24"] });
  }, 90_000);

  test("10 creates without --subnet at once: all exit 0 with distinct free /24s", async () => {
    const runs = await Promise.all(Array.from({ length: 10 }, (_, i) => vmlan("network", "create", `auto${i}`, "--mode", "host", "--format", "json")));
    for (const r of runs) expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
    const subnets = runs.map((r) => JSON.parse(r.stdout).subnet as string);
    expect(new Set(subnets).size).toBe(10);
    for (const s of subnets) expect(s).toMatch(/^192\.168\.(6[5-9]|7[0-4])\.0\/24$/);
    for (let i = 0; i < 10; i++) {
      const view = JSON.parse((await vmlan("network", "inspect", `auto${i}`)).stdout)[0];
      expect(view.host.up).toBe(true);
    }
  }, 90_000);
});
