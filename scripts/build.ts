/**
 * Compiles vmlan into one self-contained binary per target: dist/vmlan-<os>-<arch>.
 *
 *   bun scripts/build.ts                          all four targets
 *   bun scripts/build.ts --host                   this machine only, also dist/vmlan
 *   bun scripts/build.ts --target linux-x64,darwin-arm64
 *
 * Whenever this machine's target is built, dist/vmlan is (re)linked to it.
 * Cross targets need the bun runtime of the same version for that OS/CPU. Bun would download it from
 * a hard-coded registry host (native-facts D.1b), so we fetch it with `npm pack` instead, which honours
 * the npm config, cache it in .cache/bun-runtimes/ and pass --compile-executable-path.
 */
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { checkExecutable, type Arch, type Os } from "./executable-format.ts";
import { darwinSteps } from "./build-darwin.ts";

export const ROOT = join(import.meta.dir, "..");
const DIST = join(ROOT, "dist");
const RUNTIME_CACHE = join(ROOT, ".cache", "bun-runtimes");

/** Entry points compiled into every binary. Append Worker files here (native-facts D.1c). */
export const ENTRY_POINTS = ["src/main.ts", "src/datapath/forward-worker.ts", "src/services/dhcp/worker.ts"];

type Target = { os: Os; arch: Arch; bunTarget: string; npmName: string };
// npmName: the runtime package is @oven/bun-<npmName> (Bun names arm64 "aarch64" there).
export const TARGETS: Record<string, Target> = {
  "linux-x64": { os: "linux", arch: "x64", bunTarget: "bun-linux-x64", npmName: "linux-x64" },
  "linux-arm64": { os: "linux", arch: "arm64", bunTarget: "bun-linux-arm64", npmName: "linux-aarch64" },
  "darwin-arm64": { os: "darwin", arch: "arm64", bunTarget: "bun-darwin-arm64", npmName: "darwin-aarch64" },
  "darwin-x64": { os: "darwin", arch: "x64", bunTarget: "bun-darwin-x64", npmName: "darwin-x64" },
};

export function hostTarget(): string {
  return `${process.platform}-${process.arch}`;
}

class BuildError extends Error {}

/** Runs a command, returns exit code and combined output; never throws (127 when it cannot start). */
function run(cmd: string[], cwd = ROOT): { exitCode: number; output: string } {
  try {
    const p = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    return { exitCode: p.exitCode ?? 1, output: p.stdout.toString() + p.stderr.toString() };
  } catch (e) {
    return { exitCode: 127, output: `${cmd[0]}: ${(e as Error).message}` };
  }
}

function gitCommit(): string {
  const sha = run(["git", "rev-parse", "--short", "HEAD"]);
  if (sha.exitCode !== 0) return "unknown";
  // Tracked changes only: an untracked scratch file should not mark a build as modified.
  const dirty = run(["git", "status", "--porcelain", "--untracked-files=no"]).output.trim() !== "";
  return sha.output.trim() + (dirty ? "-dirty" : "");
}

/** Path of a bun executable for `name`, fetching and caching it when needed. */
async function runtimeFor(name: string, t: Target, version: string): Promise<string> {
  // The running bun is the host runtime; no download, same version by definition.
  if (name === hostTarget()) return process.execPath;
  const cached = join(RUNTIME_CACHE, `bun-${t.npmName}-v${version}`);
  if (existsSync(cached)) return cached;
  const pkg = `@oven/bun-${t.npmName}@${version}`;
  if (!Bun.which("npm")) throw new BuildError(`npm is needed to fetch ${pkg}; or put its bin/bun at ${cached}`);
  const started = performance.now();
  mkdirSync(RUNTIME_CACHE, { recursive: true });
  // Work inside the cache dir so the final rename stays on one filesystem and is atomic.
  const tmp = mkdtempSync(join(RUNTIME_CACHE, ".fetch-"));
  try {
    // npm pack ignores the package's os/cpu fields, unlike npm install (EBADPLATFORM).
    const packed = run(["npm", "pack", pkg, "--pack-destination", tmp, "--json", "--silent"], tmp);
    if (packed.exitCode !== 0) throw new BuildError(`npm pack ${pkg} failed:\n${packed.output}`);
    const tgz = (JSON.parse(packed.output.slice(packed.output.indexOf("["))) as { filename: string }[])[0]?.filename;
    if (!tgz) throw new BuildError(`npm pack ${pkg} printed no file name:\n${packed.output}`);
    const untar = run(["tar", "-xzf", join(tmp, tgz), "-C", tmp, "package/bin/bun"]);
    if (untar.exitCode !== 0) throw new BuildError(`extracting bin/bun from ${tgz} failed:\n${untar.output}`);
    const bin = join(tmp, "package", "bin", "bun");
    const wrong = await checkExecutable(bin, t);
    if (wrong) throw new BuildError(`runtime from ${pkg} is not for ${name}: ${wrong}`);
    chmodSync(bin, 0o755);
    renameSync(bin, cached);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const mb = statSync(cached).size / 1e6;
  console.log(`fetched ${pkg} (${mb.toFixed(1)} MB) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return cached;
}

export type BuildResult = { target: string; outfile: string; bytes: number; seconds: number };

async function buildTarget(name: string, version: string, defines: Record<string, string>, dist: string): Promise<BuildResult> {
  const t = TARGETS[name]!;
  const runtime = await runtimeFor(name, t, version);
  const outfile = join(dist, `vmlan-${name}`);
  // macOS: embed the vmnet trampolines and sign with the entitlements (on a Mac only; scripts/build-darwin.ts).
  const darwin = t.os === "darwin" ? darwinSteps(name, t.arch) : null;
  const cmd = [
    // --splitting: each lazily imported command is its own chunk, so `vmlan version` loads ~1/3 of
    // the code (measured 21.7 -> 14.2 ms per run; a compiled hello world is 7.5 ms).
    process.execPath, "build", "--compile", "--bytecode", "--splitting", "--format=esm", "--minify",
    // A .env or bunfig.toml in the user's working directory must not change the tool (D.1a).
    "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
    `--target=${t.bunTarget}`, `--compile-executable-path=${runtime}`,
    ...Object.entries({ ...defines, VMLAN_TARGET: name }).map(([k, v]) => `--define=${k}=${JSON.stringify(v)}`),
    ...(darwin?.buildArgs ?? []),
    `--outfile=${outfile}`, ...ENTRY_POINTS,
  ];
  const started = performance.now();
  const { exitCode, output } = run(cmd);
  const seconds = (performance.now() - started) / 1000;
  // Bun can print "error: Failed to generate bytecode" and still exit 0 with a binary (D.1a).
  const problem =
    exitCode !== 0 ? `bun build exited ${exitCode}`
    : output.includes("Failed to generate bytecode") ? `bun printed "Failed to generate bytecode" but exited 0`
    : /^error:/m.test(output) ? "bun printed an error but exited 0"
    : !existsSync(outfile) ? `bun build wrote no ${relative(ROOT, outfile)}`
    : await checkExecutable(outfile, t);
  if (problem) {
    // Never leave a half-good or stale binary behind for tests to pick up.
    rmSync(outfile, { force: true });
    if (name === hostTarget() && dist === DIST) rmSync(join(DIST, "vmlan"), { force: true });
    throw new BuildError(`build failed for ${name}: ${problem}\n  command: ${cmd.join(" ")}\n${output.trimEnd()}`);
  }
  if (output.trim()) console.log(output.trimEnd());
  darwin?.after(outfile);
  return { target: name, outfile, bytes: statSync(outfile).size, seconds };
}

/** dist/vmlan as a hard link (a copy across filesystems), so `cp dist/vmlan` copies the binary. */
function linkHost(outfile: string): string {
  const link = join(DIST, "vmlan");
  rmSync(link, { force: true });
  try { linkSync(outfile, link); } catch { copyFileSync(outfile, link); chmodSync(link, 0o755); }
  return link;
}

export function printTable(results: BuildResult[]): void {
  const rows = [["target", "size (MB)", "time (s)", "output"]];
  for (const r of results) {
    rows.push([r.target, (r.bytes / 1e6).toFixed(1), r.seconds.toFixed(1), relative(ROOT, r.outfile)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) {
    console.log(row.map((cell, i) => (i === 1 || i === 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join("  ").trimEnd());
  }
  console.log(`total ${results.reduce((s, r) => s + r.seconds, 0).toFixed(1)} s`);
}

export interface BuildOptions {
  /** The version the binaries report (default: package.json's). */
  version?: string;
  /** Where the binaries go (default: dist/). Elsewhere, dist/vmlan is left alone (the release script). */
  outDir?: string;
}

export async function build(names: string[], o: BuildOptions = {}): Promise<BuildResult[]> {
  const pkg = (await Bun.file(join(ROOT, "package.json")).json()) as { version: string };
  const defines = { VMLAN_VERSION: o.version ?? pkg.version, VMLAN_COMMIT: gitCommit() };
  const dist = o.outDir ?? DIST;
  mkdirSync(dist, { recursive: true });
  const results: BuildResult[] = [];
  for (const name of names) {
    console.log(`building ${name} (vmlan ${defines.VMLAN_VERSION} ${defines.VMLAN_COMMIT}, bun ${Bun.version})`);
    const result = await buildTarget(name, Bun.version, defines, dist);
    results.push(result);
    if (name === hostTarget() && dist === DIST) console.log(`linked ${relative(ROOT, linkHost(result.outfile))} -> ${relative(ROOT, result.outfile)}`);
  }
  return results;
}

function parseTargets(argv: string[]): string[] {
  const { values } = parseArgs({ args: argv, options: { host: { type: "boolean" }, target: { type: "string" }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    console.log("usage: bun scripts/build.ts [--host] [--target linux-x64,linux-arm64,darwin-arm64,darwin-x64|all]");
    process.exit(0);
  }
  if (values.host && values.target) throw new BuildError("use either --host or --target");
  if (values.host) {
    if (!TARGETS[hostTarget()]) throw new BuildError(`this machine (${hostTarget()}) is not a vmlan target`);
    return [hostTarget()];
  }
  if (!values.target || values.target === "all") return Object.keys(TARGETS);
  const names = values.target.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !TARGETS[n]);
  if (unknown.length) throw new BuildError(`unknown target ${unknown.join(", ")}; known: ${Object.keys(TARGETS).join(", ")}`);
  return names;
}

if (import.meta.main) {
  try {
    printTable(await build(parseTargets(process.argv.slice(2))));
  } catch (e) {
    // Our own errors are complete messages; anything else (e.g. a bad flag) keeps its stack.
    console.error(e instanceof BuildError ? `error: ${e.message}` : e);
    process.exit(1);
  }
}
