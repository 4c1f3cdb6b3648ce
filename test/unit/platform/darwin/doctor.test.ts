/** `vmlan doctor` on macOS (src/platform/darwin/doctor.ts): what a Mac user is told, from the facts gathered on a Mac. */
import { expect, test } from "bun:test";
import { darwinChecks, type DarwinFacts } from "../../../../src/platform/darwin/doctor.ts";

const good: DarwinFacts = { macos: 26, root: false, entitled: true, vmnetShim: null, vzShim: null, vmSupported: true, broker: "loaded" };
const line = (f: Partial<DarwinFacts>, check: string) => darwinChecks({ ...good, ...f }).find((c) => c.check === check);

test("a signed binary on macOS 26 with the broker loaded: every line ok, no root needed", () => {
  const checks = darwinChecks(good);
  expect(checks.map((c) => [c.check, c.status])).toEqual([
    ["macos", "ok"], ["privileges", "ok"], ["vmnet", "ok"], ["entitlement", "ok"], ["virtualization", "ok"], ["broker", "ok"],
  ]);
  expect(checks.every((c) => c.fix === undefined)).toBe(true);
});

test("macOS 15: default only (warned), and without root the privileges line fails with sudo as the fix", () => {
  expect(line({ macos: 15 }, "macos")).toMatchObject({ status: "warn", detail: expect.stringContaining("`default` only") });
  expect(line({ macos: 15 }, "privileges")).toMatchObject({ status: "fail", fix: expect.stringContaining("sudo") });
  expect(line({ macos: 15, root: true }, "privileges")).toMatchObject({ status: "ok", detail: "root" });
  expect(line({ macos: 15 }, "broker")).toBeUndefined(); // no XPC broker before macOS 26
});

test("macOS 26 without root and without the entitlement: privileges fail, VMs warned, both with the codesign fix", () => {
  expect(line({ entitled: false }, "privileges")).toMatchObject({ status: "fail", fix: expect.stringContaining("codesign --force --sign - --entitlements") });
  expect(line({ entitled: false, root: true }, "privileges")).toMatchObject({ status: "ok" });
  // Root does not stand in for the entitlement when booting VMs.
  expect(line({ entitled: false, root: true }, "entitlement")).toMatchObject({ status: "warn", detail: expect.stringContaining("root does not help") });
});

test("too old, or the version unreadable: a failed macos line, no privileges guess", () => {
  expect(line({ macos: 10 }, "macos")).toMatchObject({ status: "fail", detail: expect.stringContaining("macOS 11 or newer") });
  const unknown = darwinChecks({ ...good, macos: { error: "cannot tell the macOS version" } });
  expect(unknown[0]).toMatchObject({ check: "macos", status: "fail", detail: "cannot tell the macOS version", fix: expect.stringContaining("VMLAN_DARWIN_VERSION") });
  expect(unknown.some((c) => c.check === "privileges" || c.check === "broker")).toBe(false);
});

test("a cross-built binary (no shims): vmnet fails, VMs warned, both pointing at a Mac build", () => {
  const f = { vmnetShim: "cannot open vmnet-shim at /x/libvmlan-vmnet.dylib", vzShim: "cannot open vz at /x/libvmlan-vz.dylib", vmSupported: null };
  expect(line(f, "vmnet")).toMatchObject({ status: "fail", detail: expect.stringContaining("/x/libvmlan-vmnet.dylib"), fix: expect.stringContaining("--host") });
  expect(line(f, "virtualization")).toMatchObject({ status: "warn", detail: expect.stringContaining("/x/libvmlan-vz.dylib") });
});

test("a Mac that cannot run VMs, and a broker not loaded or not installed, are warnings with their fixes", () => {
  expect(line({ vmSupported: false }, "virtualization")).toMatchObject({ status: "warn", detail: expect.stringContaining("isSupported is false") });
  expect(line({ broker: "installed" }, "broker")).toMatchObject({ status: "warn", fix: "sudo launchctl bootstrap system /Library/LaunchDaemons/dev.vmlan.broker.plist" });
  expect(line({ broker: "absent" }, "broker")).toMatchObject({ status: "warn", fix: "sudo vmlan system install" });
});
