/**
 * A real QEMU guest (TCG) under `vmlan run`: `-netdev dgram` on the helper's socketpair end, and
 * `-netdev tap,fd=` with --native. The guest (src/vm/guest-init.ts) configures its NIC from the
 * kernel command line, where vmlan substitutes {mac} {ip} {prefix} {gateway}, pings the gateway and
 * powers off; vmlan run then exits with qemu's status. The guest image is built by the project's
 * own `vmlan vm image build` (test/support/vm.ts), and qemu is a test prerequisite (scripts/test.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { ensureGuestImage, findGuestImage, IMAGE_BUILD_TIMEOUT_MS, IMAGE_CACHE } from "../../support/vm.ts";
import { GUEST_KERNEL_WORDS } from "../../../src/vm/spec.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { createNetns, type Netns } from "../../support/netns.ts";
import { type LineProc, vmlanIn } from "./proc.ts";

let image: { kernel: string; initrd: string } | null = null;
const qemu = Bun.which("qemu-system-x86_64", { PATH: `${process.env.PATH ?? ""}:/usr/bin` });
const GATEWAY = "10.73.0.1";

let ns: Netns;
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-qemu-"));
const env = { VMLAN_STATE_DIR: stateDir };
const procs: LineProc[] = [];

beforeAll(async () => {
  if (!qemu) throw new Error("qemu-system-x86_64 is missing: npm test installs it (scripts/test.ts)");
  await ensureGuestImage();
  image = findGuestImage();
  if (!image) throw new Error(`no guest image in ${IMAGE_CACHE} after vmlan vm image build`);
  ns = createNetns();
  const r = await runVmlan(["network", "create", "q", "--subnet", "10.73.0.0/24", "--mode", "host"], { env, netns: ns.name });
  if (r.exitCode !== 0) throw new Error(r.stderr);
}, IMAGE_BUILD_TIMEOUT_MS);
afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
  ns?.delete();
  rmSync(stateDir, { recursive: true, force: true });
});

function boot(runArgs: string[], netdev: string): LineProc {
  const cmd = Buffer.from(`ping -c 3 ${GATEWAY}`).toString("base64");
  const p = vmlanIn(ns.name, ["run", ...runArgs, "--network", "q", "--", qemu!, "-accel", "tcg", "-m", "256", "-nographic", "-no-reboot",
    "-kernel", image!.kernel, "-initrd", image!.initrd,
    "-append", `${GUEST_KERNEL_WORDS.join(" ")} vmlan.net={mac},{ip}/{prefix},{gateway} vmlan.cmd=${cmd} vmlan.poweroff=1`,
    "-netdev", netdev, "-device", "virtio-net-pci,netdev=n0,mac={mac},romfile="], env);
  procs.push(p);
  return p;
}

describe("a QEMU guest under vmlan run", () => {
  for (const [name, args, netdev] of [
    ["helper: -netdev dgram on fd 3", ["--id", "q-dgram"], "dgram,id=n0,local.type=fd,local.str={fd}"],
    ["--native: -netdev tap on fd 3", ["--native", "--id", "q-tap"], "tap,id=n0,fd={fd}"],
  ] as const) {
    test(`${name}: the guest gets its lease on the kernel command line, pings the gateway, and vmlan exits 0`, async () => {
      const p = boot([...args], netdev);
      expect(await p.waitFor(/VMLAN-READY/, { timeoutMs: 60_000 })).toMatch(/VMLAN-READY \S+ 10\.73\.0\.\d+/);
      expect(await p.waitFor(/packets transmitted/, { timeoutMs: 30_000 })).toContain("3 packets received");
      expect(await p.exited(60_000)).toBe(0);
      const list = await runVmlan(["attachments", "--format", "json"], { env, netns: ns.name });
      expect(JSON.parse(list.stdout)).toEqual([]);
    }, 120_000);
  }
});
