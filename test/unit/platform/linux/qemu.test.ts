import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectAccel } from "../../../../src/platform/linux/kvm.ts";
import { qemuArgv } from "../../../../src/platform/linux/qemu.ts";
import type { HypervisorConfig } from "../../../../src/vm/backend.ts";

const port = (kind: "tap" | "dgram") => ({ kind, fd: 9, ifname: "vlt0", close() {} });
const cfg = (o: Partial<HypervisorConfig> = {}): HypervisorConfig => ({
  name: "g1", accel: "tcg", cpus: 2, memoryMb: 256, kernel: "/k", initrd: "/i", append: "console=ttyS0",
  nics: [{ mac: "02:00:00:00:00:01", port: port("tap") }, { mac: "02:00:00:00:00:02", port: port("dgram") }],
  console: { kind: "stdio", stdio: "inherit" }, ...o,
});

test("one virtio-net NIC per network on fds 3, 4, ...: tap for native, dgram for the helper; no iPXE ROM", () => {
  const a = qemuArgv(cfg()).join(" ");
  expect(a).toContain("-netdev tap,id=n0,fd=3 -device virtio-net-pci,netdev=n0,mac=02:00:00:00:00:01,romfile=");
  expect(a).toContain("-netdev dgram,id=n1,local.type=fd,local.str=4 -device virtio-net-pci,netdev=n1,mac=02:00:00:00:00:02,romfile=");
  expect(a).toContain("-accel tcg -smp 2 -m 256 -kernel /k -append console=ttyS0 -initrd /i");
  expect(a).toContain("-no-reboot");
});

test("KVM gets -cpu host; --detach daemonizes with a pidfile and a console file", () => {
  const a = qemuArgv(cfg({ accel: "kvm", console: { kind: "file", path: "/c.log" }, pidfile: "/p" })).join(" ");
  expect(a).toContain("-accel kvm -cpu host");
  expect(a).toContain("-serial file:/c.log");
  expect(a).toContain("-daemonize -pidfile /p");
});

test("KVM only when it really works: no /dev/kvm, kvm_pvm, or no vmx/svm all mean TCG with a reason", () => {
  const root = mkdtempSync(join(tmpdir(), "vmlan-kvm-"));
  try {
    expect(detectAccel(root)).toMatchObject({ accel: "tcg", reason: expect.stringContaining("no /dev/kvm") });
    mkdirSync(join(root, "dev"));
    writeFileSync(join(root, "dev", "kvm"), "");
    mkdirSync(join(root, "proc"));
    writeFileSync(join(root, "proc", "cpuinfo"), "flags\t\t: fpu sse2\n");
    expect(detectAccel(root)).toMatchObject({ accel: "tcg", reason: expect.stringContaining("vmx/svm") });
    writeFileSync(join(root, "proc", "cpuinfo"), "flags\t\t: fpu vmx sse2\n");
    expect(detectAccel(root).accel).toBe("kvm");
    mkdirSync(join(root, "sys", "module", "kvm_pvm"), { recursive: true });
    expect(detectAccel(root)).toMatchObject({ accel: "tcg", reason: expect.stringContaining("kvm_pvm") });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
