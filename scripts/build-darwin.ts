/**
 * The macOS-only steps of scripts/build.ts, for a darwin target built on a Mac:
 *   1. libvmlan-vmnet.dylib from shims/vmnet-trampolines.c (clang -fblocks with the SDK's vmnet,
 *      CoreFoundation) and libvmlan-vz.dylib from shims/vz.m (Objective-C, Virtualization.framework)
 *      for the target's CPU, passed to `bun build --compile` as --asset: they land at
 *      /$bunfs/root/<name>, where ffi/vmnet/load.ts and ffi/vz/load.ts look first; Bun writes each to
 *      $TMPDIR and dlopens that copy (native-facts D.1c, measured with --asset on Linux);
 *   2. after the build, an ad-hoc signature with shims/entitlements.plist
 *      (com.apple.security.virtualization: unprivileged vmnet on macOS 26, Virtualization.framework).
 *      No hardened runtime (--options runtime), so Bun's JIT needs no extra entitlements.
 * Anywhere else these steps are skipped with a note: a cross-built darwin binary carries no shim
 * (it looks next to the executable, or VMLAN_VMNET_SHIM_PATH) and keeps Bun's own ad-hoc signature.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const SHIMS = join(import.meta.dir, "..", "shims");
const OUT = join(import.meta.dir, "..", ".cache", "macos");
/** The macOS 26 network calls are weak-linked and used only on 26 (verify-macos.sh uses the same flags). */
const MIN_MACOS = "11.0";

export interface DarwinSteps {
  /** Extra `bun build` arguments (the --asset). */
  buildArgs: string[];
  /** Runs after a successful build on the output file. */
  after(outfile: string): void;
}

function sh(argv: string[]): void {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (${r.exitCode}):\n${r.stdout.toString()}${r.stderr.toString()}`);
}

/** What to add for `target` (darwin-arm64 | darwin-x64); no-ops with a printed note off a Mac. */
export function darwinSteps(target: string, arch: "arm64" | "x64"): DarwinSteps {
  if (process.platform !== "darwin") {
    console.log(`note: ${target} built on ${process.platform}: libvmlan-vmnet.dylib and libvmlan-vz.dylib are not embedded and the binary is not signed with shims/entitlements.plist (build on a Mac for a vmnet-ready binary)`);
    return { buildArgs: [], after: () => {} };
  }
  const dir = join(OUT, target);
  mkdirSync(dir, { recursive: true });
  const dylib = join(dir, "libvmlan-vmnet.dylib");
  sh(["xcrun", "clang", "-arch", arch === "arm64" ? "arm64" : "x86_64", "-fblocks", "-dynamiclib", "-O2", "-Wall", "-Wextra", "-Werror",
    "-Wno-unguarded-availability-new", `-mmacosx-version-min=${MIN_MACOS}`, `-I${SHIMS}`, "-o", dylib,
    join(SHIMS, "vmnet-trampolines.c"), "-framework", "vmnet", "-framework", "CoreFoundation"]);
  sh(["codesign", "--force", "--sign", "-", dylib]);
  if (!existsSync(dylib)) throw new Error(`clang wrote no ${dylib}`);
  // Same flags as scripts/verify-macos.sh step 1b (Virtualization.framework needs macOS 12 for what vz.m uses).
  const vzDylib = join(dir, "libvmlan-vz.dylib");
  sh(["xcrun", "clang", "-arch", arch === "arm64" ? "arm64" : "x86_64", "-fobjc-arc", "-dynamiclib", "-O2", "-Wall", "-Wextra", "-Werror",
    "-Wno-unguarded-availability-new", "-mmacosx-version-min=12.0", "-o", vzDylib, join(SHIMS, "vz.m"),
    "-framework", "Foundation", "-framework", "Virtualization", "-framework", "vmnet"]);
  sh(["codesign", "--force", "--sign", "-", vzDylib]);
  return {
    buildArgs: [`--asset=${dylib}`, `--asset=${vzDylib}`],
    after(outfile) {
      sh(["codesign", "--force", "--sign", "-", "--entitlements", join(SHIMS, "entitlements.plist"), outfile]);
      const r = Bun.spawnSync(["codesign", "-d", "--entitlements", "-", outfile], { stdout: "pipe", stderr: "pipe" });
      if (!(r.stdout.toString() + r.stderr.toString()).includes("com.apple.security.virtualization")) {
        throw new Error(`${outfile}: the virtualization entitlement did not stick`);
      }
      console.log(`signed ${target} with shims/entitlements.plist; embedded libvmlan-vmnet.dylib and libvmlan-vz.dylib`);
    },
  };
}
