/**
 * `vmlan demo` and `vmlan doctor` from the compiled binary, in a namespace of the test's own: the
 * demo creates the built-in default network there, boots two guests, measures and cleans up.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { createNetns, type Netns } from "../../support/netns.ts";
import { BOOT_TIMEOUT_MS, ensureGuestImage, IMAGE_BUILD_TIMEOUT_MS, IMAGE_CACHE, qemuPids } from "../../support/vm.ts";

let ns: Netns;
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-demo-"));
const env = { VMLAN_STATE_DIR: stateDir, VMLAN_IMAGE_CACHE: IMAGE_CACHE };

beforeAll(async () => {
  await ensureGuestImage();
  ns = createNetns();
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(() => {
  ns?.delete();
  rmSync(stateDir, { recursive: true, force: true });
});

test("vmlan demo: two guests on the default network reach each other and the host, with numbers; nothing left behind", async () => {
  const r = await runVmlan(["demo", "--mb", "4", "--format", "json"], { env, netns: ns.name, timeoutMs: 3 * BOOT_TIMEOUT_MS });
  if (r.exitCode !== 0) throw new Error(`vmlan demo failed (${r.exitCode}): ${r.stderr}`);
  const d = JSON.parse(r.stdout) as {
    network: string; attachment: string; guests: { name: string; address: string; bootMs: number }[];
    pingGuestMs: number; pingGatewayMs: number; guestToGuestMbps: number; guestToHostMbps: number;
  };
  console.log(`demo: boot ${d.guests.map((g) => g.bootMs).join("/")} ms, ping ${d.pingGuestMs}/${d.pingGatewayMs} ms, ${d.guestToGuestMbps}/${d.guestToHostMbps} Mbit/s`);
  expect(d.network).toBe("default");
  expect(d.attachment).toBe("helper");
  expect(d.guests.map((g) => g.name)).toEqual(["demo-a", "demo-b"]);
  expect(d.guests.map((g) => g.address).sort()).toEqual(["192.168.64.2", "192.168.64.3"]);
  expect(d.pingGuestMs).toBeGreaterThan(0);
  expect(d.pingGatewayMs).toBeGreaterThan(0);
  expect(d.guestToGuestMbps).toBeGreaterThan(0);
  expect(d.guestToHostMbps).toBeGreaterThan(0);
  const list = await runVmlan(["vm", "list", "--format", "json"], { env, netns: ns.name });
  expect(JSON.parse(list.stdout)).toEqual([]);
  const active = await runVmlan(["attachments", "--format", "json"], { env, netns: ns.name });
  expect(JSON.parse(active.stdout)).toEqual([]);
  expect(ns.ipJson(["link", "show", "type", "tun"])).toEqual([]);
  expect(qemuPids("demo-")).toEqual([]);
}, 3 * BOOT_TIMEOUT_MS);

test("vmlan doctor: one line per check with a fix; KVM under kvm_pvm is reported as unusable", async () => {
  const r = await runVmlan(["doctor", "--format", "json"], { env, netns: ns.name });
  const d = JSON.parse(r.stdout) as { ok: boolean; checks: { check: string; status: string; detail: string; fix?: string }[] };
  expect(r.exitCode).toBe(d.ok ? 0 : 6);
  expect(d.checks.map((c) => c.check)).toEqual(["privileges", "tun", "kvm", "nftables", "qemu", "guest-image"]);
  for (const c of d.checks) if (c.status !== "ok") expect(c.fix).toBeTruthy();
  const kvm = d.checks.find((c) => c.check === "kvm")!;
  if (existsSync("/sys/module/kvm_pvm")) expect(kvm).toMatchObject({ status: "warn", detail: expect.stringContaining("kvm_pvm") });
  expect(d.checks.find((c) => c.check === "qemu")!.status).toBe("ok");
  const table = await runVmlan(["doctor"], { env, netns: ns.name });
  expect(table.stdout.split("\n")[0]).toMatch(/^CHECK\s+STATUS\s+DETAIL\s+FIX$/);
});
