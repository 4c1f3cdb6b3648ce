/**
 * The macOS-only steps of scripts/build.ts, for a darwin target built on a Mac:
 *   1. libvmlan-vmnet.dylib from shims/vmnet-*.c (clang -fblocks with the SDK's vmnet,
 *      CoreFoundation) and libvmlan-vz.dylib from shims/vz.m (Objective-C, Virtualization.framework)
 *      for the target's CPU, passed to `bun build --compile` as --asset: they land at
 *      /$bunfs/root/<name>, where ffi/vmnet/load.ts and ffi/vz/load.ts look first; Bun writes each to
 *      $TMPDIR and dlopens that copy (measured with --asset and Bun 1.4.5 on Linux: shared/research/macos-review.md §8);
 *   2. after the build, Bun's signature removed (`codesign --remove-signature`: re-signing over it fails
 *      for some Bun releases, oven-sh/bun #29306), an ad-hoc signature with shims/entitlements.plist
 *      (com.apple.security.virtualization: unprivileged vmnet on macOS 26, Virtualization.framework),
 *      then `codesign --verify --strict`. No hardened runtime (--options runtime), so Bun's JIT needs
 *      no extra entitlements.
 * Anywhere else step 1 is skipped with a note (a cross-built darwin binary carries no shim: it looks
 * next to the executable, or VMLAN_VMNET_SHIM_PATH), and the signature Bun left is checked as the
 * kernel checks it (scripts/macho-signature.ts): Bun 1.4.5's darwin-x64 output keeps the runtime's
 * Developer ID signature with stale page hashes, which macOS kills at exec, so a wrong signature is
 * replaced by an ad-hoc one made here (scripts/macho-adhoc-sign.ts) and checked again.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { adhocSign } from "./macho-adhoc-sign.ts";
import { checkMachOSignature } from "./macho-signature.ts";

const SHIMS = join(import.meta.dir, "..", "shims");
const OUT = join(import.meta.dir, "..", ".cache", "macos");
/** Bun's own minimum (bun.sh/docs/installation: macOS 13 or later); the shim needs no older macOS. */
export const MIN_MACOS = "13.0";

/**
 * Every macOS 26 call in the vmnet shim sits behind __builtin_available (checked on Linux against a
 * stand-in SDK, test/ffi/vmnet-macos-target.test.ts); an unguarded one on a real SDK warns, not fails.
 */
export const SHIM_WARNINGS = ["-Wall", "-Wextra", "-Werror", "-Wunguarded-availability-new", "-Wno-error=unguarded-availability-new"];

/** The C files of libvmlan-vmnet (test/doubles/build.ts compiles the same list against the double). */
export function vmnetShimSources(): string[] {
  return readdirSync(SHIMS).filter((f) => /^vmnet-.*\.c$/.test(f)).sort().map((f) => join(SHIMS, f));
}

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

const clangArch = (arch: "arm64" | "x64") => (arch === "arm64" ? "arm64" : "x86_64");

/** libvmlan-vmnet.dylib (vmnet, CoreFoundation) on a Mac, ad-hoc signed; scripts/verify-macos.sh builds it the same way. */
export function buildVmnetShim(arch: "arm64" | "x64", dir: string): string {
  mkdirSync(dir, { recursive: true });
  const dylib = join(dir, "libvmlan-vmnet.dylib");
  sh(["xcrun", "clang", "-arch", clangArch(arch), "-fblocks", "-dynamiclib", "-O2", ...SHIM_WARNINGS,
    `-mmacosx-version-min=${MIN_MACOS}`, `-I${SHIMS}`, "-o", dylib, ...vmnetShimSources(), "-framework", "vmnet", "-framework", "CoreFoundation"]);
  sh(["codesign", "--force", "--sign", "-", dylib]);
  if (!existsSync(dylib)) throw new Error(`clang wrote no ${dylib}`);
  return dylib;
}

/** libvmlan-vz.dylib (Objective-C, Virtualization.framework), ad-hoc signed. */
export function buildVzShim(arch: "arm64" | "x64", dir: string): string {
  mkdirSync(dir, { recursive: true });
  const vzDylib = join(dir, "libvmlan-vz.dylib");
  sh(["xcrun", "clang", "-arch", clangArch(arch), "-fobjc-arc", "-dynamiclib", "-O2", "-Wall", "-Wextra", "-Werror",
    "-Wno-unguarded-availability-new", `-mmacosx-version-min=${MIN_MACOS}`, "-o", vzDylib, join(SHIMS, "vz.m"),
    "-framework", "Foundation", "-framework", "Virtualization", "-framework", "vmnet"]);
  sh(["codesign", "--force", "--sign", "-", vzDylib]);
  return vzDylib;
}

function buildShims(arch: "arm64" | "x64", dir: string): { vmnet: string; vz: string } {
  return { vmnet: buildVmnetShim(arch, dir), vz: buildVzShim(arch, dir) };
}

/** What to add for `target` (darwin-arm64 | darwin-x64); no-ops with a printed note off a Mac. */
export function darwinSteps(target: string, arch: "arm64" | "x64"): DarwinSteps {
  if (process.platform !== "darwin") {
    console.log(`note: ${target} built on ${process.platform}: libvmlan-vmnet.dylib and libvmlan-vz.dylib are not embedded and the binary is not signed with shims/entitlements.plist (build on a Mac for a vmnet-ready binary)`);
    return { buildArgs: [], after: (outfile) => ensureValidSignature(outfile, target) };
  }
  const { vmnet: dylib, vz: vzDylib } = buildShims(arch, join(OUT, target));
  return {
    buildArgs: [`--asset=${dylib}`, `--asset=${vzDylib}`],
    after(outfile) {
      sh(["codesign", "--remove-signature", outfile]);
      sh(["codesign", "--force", "--sign", "-", "--entitlements", join(SHIMS, "entitlements.plist"), outfile]);
      sh(["codesign", "--verify", "--strict", "--verbose=2", outfile]);
      const left = checkMachOSignature(new Uint8Array(readFileSync(outfile))).problems;
      if (left.length) throw new Error(`${outfile}: codesign's signature fails vmlan's check: ${left.join("; ")}`);
      const r = Bun.spawnSync(["codesign", "-d", "--entitlements", "-", outfile], { stdout: "pipe", stderr: "pipe" });
      if (!(r.stdout.toString() + r.stderr.toString()).includes("com.apple.security.virtualization")) {
        throw new Error(`${outfile}: the virtualization entitlement did not stick`);
      }
      console.log(`signed ${target} with shims/entitlements.plist; embedded libvmlan-vmnet.dylib and libvmlan-vz.dylib`);
    },
  };
}

/** Off a Mac: keeps Bun's signature when the kernel would accept it, else signs ad hoc here. */
export function ensureValidSignature(outfile: string, target: string): void {
  const file = new Uint8Array(readFileSync(outfile));
  const found = checkMachOSignature(file).problems;
  if (found.length === 0) return;
  const signed = adhocSign(file, "vmlan");
  const left = checkMachOSignature(signed).problems;
  if (left.length) throw new Error(`${outfile}: re-signing ad hoc did not give a valid signature: ${left.join("; ")}`);
  writeFileSync(outfile, signed);
  console.log(`note: ${target}: Bun left a signature macOS would kill (${found[0]}); re-signed ad hoc (no entitlements)`);
}

/** `bun scripts/build-darwin.ts --shims DIR` (scripts/verify-macos.sh): both dylibs for this Mac into DIR. */
if (import.meta.main) {
  const at = process.argv.indexOf("--shims");
  const dir = process.argv[at + 1];
  if (at < 0 || !dir || process.platform !== "darwin") {
    console.error("usage (on a Mac): bun scripts/build-darwin.ts --shims DIR");
    process.exit(2);
  }
  const arch = process.arch === "arm64" ? "arm64" : "x64";
  console.log(buildVmnetShim(arch, dir));
  try {
    console.log(buildVzShim(arch, dir));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(3); // the vmnet shim is there; the VZ one is not
  }
}
