/**
 * The vmnet shim compiled for a macOS target on Linux (clang -target x86_64-apple-macos13
 * -fsyntax-only; no SDK to link): against a stand-in SDK (test/doubles/sdk) whose macOS 26 calls carry
 * Apple's documented availability, -Werror=unguarded-availability-new proves every such call sits behind
 * __builtin_available; and as an SDK before 26 (Xcode 16: no network API at all, the case vmnet-helper's
 * `#if __MAC_OS_X_VERSION_MAX_ALLOWED >= 260000` guards), it still compiles. On a Mac,
 * scripts/verify-macos.sh compiles it against the real SDK instead.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { MIN_MACOS, vmnetShimSources } from "../../scripts/build-darwin.ts";

const ROOT = join(import.meta.dir, "..", "..");
const linux = process.platform === "linux";
const multiarch = linux ? Bun.spawnSync(["gcc", "-print-multiarch"]).stdout.toString().trim() : "";

function compile(extra: string[]): { code: number; err: string } {
  const r = Bun.spawnSync(["clang", `-target`, `x86_64-apple-macos${MIN_MACOS}`, "-fsyntax-only", "-fblocks", "-Wall", "-Wextra", "-Werror",
    "-Wunguarded-availability-new", ...extra,
    // glibc's headers stand in for libSystem's; Apple targets make __nonnull a nullability keyword.
    "-U__nonnull", "-D__nonnull(p)=", "-isystem", `/usr/include/${multiarch}`,
    `-I${join(ROOT, "test", "doubles", "sdk")}`, `-I${join(ROOT, "shims")}`, ...vmnetShimSources()], { stderr: "pipe", stdout: "pipe" });
  return { code: r.exitCode ?? 1, err: r.stderr.toString() };
}

test.skipIf(!linux)("macOS 26 SDK: every macOS 26 call is guarded by __builtin_available (no unguarded-availability error)", () => {
  expect(compile([])).toEqual({ code: 0, err: "" });
});

test.skipIf(!linux)("an SDK before macOS 26 (no vmnet_network_* declared): the shim still compiles", () => {
  expect(compile(["-DVMLAN_SDK_WITHOUT_NETWORKS", "-D__MAC_OS_X_VERSION_MAX_ALLOWED=150000"])).toEqual({ code: 0, err: "" });
});

test.skipIf(!linux)("the check bites: an unguarded macOS 26 call is an error", () => {
  const r = Bun.spawnSync(["clang", "-target", `x86_64-apple-macos${MIN_MACOS}`, "-fsyntax-only", "-fblocks", "-Werror", "-Wunguarded-availability-new",
    "-U__nonnull", "-D__nonnull(p)=", "-isystem", `/usr/include/${multiarch}`, `-I${join(ROOT, "test", "doubles", "sdk")}`, `-I${join(ROOT, "shims")}`,
    "-x", "c", "-"], { stdin: new TextEncoder().encode('#include "vmnet-shim.h"\nvoid *f(void) { return vmnet_network_create(0, 0); }\n'), stderr: "pipe" });
  expect(r.exitCode).not.toBe(0);
  expect(r.stderr.toString()).toContain("'vmnet_network_create' is only available on macOS 26.0 or newer");
});
