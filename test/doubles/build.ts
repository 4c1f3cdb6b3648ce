/**
 * Builds the vmnet double and the trampolines with clang (-fblocks, libBlocksRuntime) into a cache
 * directory keyed by a hash of their sources, and returns the paths plus the env that points
 * ffi/vmnet at them. Debian packages: clang, libblocksruntime-dev.
 *   libvmnet-double.so  soname libvmnet-double.so: vmnet + a minimal libxpc/libdispatch/CFRelease
 *   libvmlan-vmnet.so   shims/vmnet-*.c (the trampolines), linked to the double by soname with an $ORIGIN rpath
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
const DOUBLE_DIR = join(ROOT, "test", "doubles");
const SHIMS = join(ROOT, "shims");

export interface VmnetBuild {
  dir: string;
  double: string;
  shim: string;
  /** VMLAN_VMNET_PATH and VMLAN_VMNET_SHIM_PATH for a child process. */
  env: Record<string, string>;
}

function sources(): string[] {
  const c = readdirSync(DOUBLE_DIR).filter((f) => /\.[ch]$/.test(f)).map((f) => join(DOUBLE_DIR, f));
  const s = readdirSync(SHIMS).filter((f) => /^vmnet.*\.[ch]$/.test(f)).map((f) => join(SHIMS, f));
  return [...c, ...s].sort();
}

function run(argv: string[]): void {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed:\n${r.stderr.toString()}`);
  const warnings = r.stderr.toString().trim();
  if (warnings) throw new Error(`${argv[0]} warned (the C must build clean):\n${warnings}`);
}

/** test/doubles' C programs (a main of their own), built by buildProbe, not into the library. */
const isProgram = (f: string) => /\/(probe|standin)-[^/]*\.c$/.test(f);

/**
 * A C program of test/doubles (probe-*.c, standin-*.c) built against the double, cached beside it:
 * what only C can do against the ABI (blocks, XPC clients and servers of other projects' protocols).
 */
export function buildProbe(name: string): string {
  const b = buildVmnet();
  const exe = join(b.dir, name);
  if (!existsSync(exe)) {
    const tmp = `${exe}.${process.pid}`;
    run(["clang", "-fblocks", "-O1", "-g", ...WARN, "-o", tmp, join(DOUBLE_DIR, `${name}.c`), `-L${b.dir}`, "-lvmnet-double", `-Wl,-rpath,${b.dir}`, "-lBlocksRuntime"]);
    renameSync(tmp, exe);
  }
  return exe;
}

/** The C files of libvmlan-vmnet, as scripts/build-darwin.ts compiles them on a Mac. */
export function shimSources(): string[] {
  return readdirSync(SHIMS).filter((f) => /^vmnet-.*\.c$/.test(f)).sort().map((f) => join(SHIMS, f));
}

const WARN = ["-Wall", "-Wextra", "-Werror=implicit-function-declaration"];

/** Builds once per source hash; later calls (and other test files) reuse the cached libraries. */
export function buildVmnet(): VmnetBuild {
  const hash = createHash("sha256");
  for (const f of sources()) hash.update(f).update(readFileSync(f));
  const dir = join(tmpdir(), `vmlan-vmnet-${hash.digest("hex").slice(0, 16)}`);
  const double = join(dir, "libvmnet-double.so");
  const shim = join(dir, "libvmlan-vmnet.so");
  if (!existsSync(shim)) {
    const work = `${dir}.${process.pid}`;
    mkdirSync(work, { recursive: true });
    const doubleSrc = sources().filter((f) => f.startsWith(DOUBLE_DIR) && f.endsWith(".c") && !isProgram(f));
    run(["clang", "-fblocks", "-shared", "-fPIC", "-O1", "-g", ...WARN, "-Wl,-soname,libvmnet-double.so",
      "-o", join(work, "libvmnet-double.so"), ...doubleSrc, "-lBlocksRuntime", "-lpthread"]);
    run(["clang", "-fblocks", "-shared", "-fPIC", "-O1", "-g", ...WARN, `-I${SHIMS}`, "-o", join(work, "libvmlan-vmnet.so"),
      ...shimSources(), `-L${work}`, "-lvmnet-double", "-Wl,-rpath,$ORIGIN", "-lBlocksRuntime"]);
    try {
      renameSync(work, dir); // atomic: a concurrent build of the same hash loses the race harmlessly
    } catch {
      if (!existsSync(shim)) throw new Error(`could not place the vmnet build in ${dir}`);
    }
  }
  return { dir, double, shim, env: { VMLAN_VMNET_PATH: double, VMLAN_VMNET_SHIM_PATH: shim } };
}
