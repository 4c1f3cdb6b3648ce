/**
 * `bun run release --version X [--repo OWNER/NAME]`: everything a release publishes, in dist/release/:
 *   vmlan-X-<os>-<arch>.tar.gz   linux-x64, linux-arm64, darwin-arm64, darwin-x64 (scripts/release/tarball.ts)
 *   vmlan_X_amd64.deb, vmlan_X_arm64.deb                                  (scripts/release/deb.ts)
 *   SHA256SUMS                   of all of them
 *   Formula/vmlan.rb             Homebrew, with the tarballs' URLs (GitHub release vX of OWNER/NAME) and sha256
 *
 * Options: --out DIR (default dist/release); --maintainer "Name <email>" for the .deb (default
 * "$DEBFULLNAME <$DEBEMAIL>", else git's user.name and user.email); --repo defaults to package.json's
 * repository. Dates come from SOURCE_DATE_EPOCH, else the last commit, so a rebuild is the same.
 * Needs GNU tar, gzip and dpkg-deb (Debian package dpkg). Off a Mac the darwin binaries carry no vmnet
 * shim and no entitlement (scripts/build-darwin.ts): publish macOS artifacts built on a Mac.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { build, printTable, TARGETS } from "./build.ts";
import { stageShared, REPO_ROOT } from "./release/stage.ts";
import { makeTarball, tarballName } from "./release/tarball.ts";
import { DEB_ARCH, makeDeb } from "./release/deb.ts";
import { renderFormula } from "./release/formula.ts";
import { need, ReleaseError } from "./release/sh.ts";

const VERSION = /^\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$/;
const REPO = /^[A-Za-z0-9][A-Za-z0-9-]*\/[A-Za-z0-9._-]+$/;
const USAGE = "usage: bun run release --version X.Y.Z [--repo OWNER/NAME] [--out DIR] [--maintainer \"Name <email>\"]";

export interface ReleaseOptions { version: string; repo: string; out: string; maintainer: string }

async function defaultRepo(): Promise<string | undefined> {
  const pkg = (await Bun.file(join(REPO_ROOT, "package.json")).json()) as { repository?: string | { url?: string } };
  const url = typeof pkg.repository === "string" ? pkg.repository : pkg.repository?.url;
  return url?.match(/github(?:\.com[:/]|:)([^/]+\/[^/.]+)/)?.[1];
}

function defaultMaintainer(): string | undefined {
  const { DEBFULLNAME: name, DEBEMAIL: email } = process.env;
  if (name && email) return `${name} <${email}>`;
  const git = (key: string) => Bun.spawnSync(["git", "config", key], { cwd: REPO_ROOT, stdout: "pipe" }).stdout.toString().trim();
  return git("user.name") && git("user.email") ? `${git("user.name")} <${git("user.email")}>` : undefined;
}

export async function parseOptions(argv: string[]): Promise<ReleaseOptions> {
  const { values } = parseArgs({ args: argv, options: { version: { type: "string" }, repo: { type: "string" }, out: { type: "string" }, maintainer: { type: "string" } } });
  if (!values.version) throw new ReleaseError(`--version is required; ${USAGE}`);
  if (!VERSION.test(values.version)) throw new ReleaseError(`invalid --version "${values.version}": expected X.Y.Z or X.Y.Z-pre (semver)`);
  const repo = values.repo ?? (await defaultRepo());
  if (!repo) throw new ReleaseError(`--repo OWNER/NAME is required (package.json names no GitHub repository); ${USAGE}`);
  if (!REPO.test(repo)) throw new ReleaseError(`invalid --repo "${repo}": expected OWNER/NAME`);
  const maintainer = values.maintainer ?? defaultMaintainer();
  if (!maintainer) throw new ReleaseError(`--maintainer "Name <email>" is required for the .deb (or set DEBFULLNAME and DEBEMAIL)`);
  if (!/^[^<>\n]+ <[^<>\s@]+@[^<>\s]+>$/.test(maintainer)) throw new ReleaseError(`invalid --maintainer "${maintainer}": expected "Name <email>"`);
  return { version: values.version, repo, out: resolve(values.out ?? join(REPO_ROOT, "dist", "release")), maintainer };
}

function sourceEpoch(): number {
  if (process.env.SOURCE_DATE_EPOCH && /^\d+$/.test(process.env.SOURCE_DATE_EPOCH)) return Number(process.env.SOURCE_DATE_EPOCH);
  const t = Bun.spawnSync(["git", "log", "-1", "--format=%ct"], { cwd: REPO_ROOT, stdout: "pipe" }).stdout.toString().trim();
  return /^\d+$/.test(t) ? Number(t) : Math.floor(Date.now() / 1000);
}

/** Removes what an earlier run left (release artifacts only), so SHA256SUMS lists exactly this run's. */
function cleanOut(out: string): void {
  mkdirSync(out, { recursive: true });
  for (const f of readdirSync(out)) {
    if (/^vmlan[-_].*\.(tar\.gz|deb)$/.test(f) || f === "SHA256SUMS" || f === ".work") rmSync(join(out, f), { recursive: true, force: true });
  }
  rmSync(join(out, "Formula", "vmlan.rb"), { force: true });
}

const sha256 = async (file: string) => new Bun.CryptoHasher("sha256").update(await Bun.file(file).arrayBuffer()).digest("hex");

export async function release(o: ReleaseOptions): Promise<string[]> {
  need("dpkg-deb", "builds the .deb", "apt-get install dpkg (brew install dpkg on a Mac)");
  need("gzip", "compresses the tarballs", "apt-get install gzip");
  const started = performance.now();
  const step = (what: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${what}`);
  cleanOut(o.out);
  const work = join(o.out, ".work");
  const epoch = sourceEpoch();
  const homepage = `https://github.com/${o.repo}`;
  try {
    const built = await build(Object.keys(TARGETS), { version: o.version, outDir: join(work, "bin") });
    printTable(built);
    if (process.platform !== "darwin") console.log("note: darwin tarballs built here have no vmnet shim and no entitlement; publish macOS artifacts built on a Mac");
    const staged = await stageShared(join(work, "shared"), { version: o.version, date: new Date(epoch * 1000).toISOString().slice(0, 10) });
    step(`staged ${staged.manPages.length} man pages, 3 completion scripts, LICENSE, README.md`);
    const binary = (target: string) => built.find((b) => b.target === target)!.outfile;
    const jobs = [
      ...built.map((b) => makeTarball({ binary: b.outfile, target: b.target, version: o.version, staged, work: join(work, "tar"), out: o.out, epoch })),
      ...Object.keys(DEB_ARCH).map((t) => makeDeb({ binary: binary(t), target: t, version: o.version, staged, work: join(work, "deb"), out: o.out, homepage, maintainer: o.maintainer, epoch })),
    ];
    const files = await Promise.all(jobs);
    step(`${files.length} archives`);
    const sums = await Promise.all(files.map(async (f) => ({ file: basename(f), sha: await sha256(f) })));
    sums.sort((a, b) => (a.file < b.file ? -1 : 1)); // byte order, as sort(1) in the C locale
    writeFileSync(join(o.out, "SHA256SUMS"), sums.map((s) => `${s.sha}  ${s.file}\n`).join(""));
    const assets = built.map((b) => {
      const file = tarballName(o.version, b.target);
      return { target: b.target, url: `${homepage}/releases/download/v${o.version}/${file}`, sha256: sums.find((s) => s.file === file)!.sha };
    });
    mkdirSync(join(o.out, "Formula"), { recursive: true });
    writeFileSync(join(o.out, "Formula", "vmlan.rb"), renderFormula({ version: o.version, homepage, assets }));
    step(`SHA256SUMS and Formula/vmlan.rb in ${o.out}`);
    return [...files, join(o.out, "SHA256SUMS"), join(o.out, "Formula", "vmlan.rb")];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  try {
    const files = await release(await parseOptions(process.argv.slice(2)));
    for (const f of files) console.log(f);
  } catch (e) {
    console.error(e instanceof ReleaseError || (e as Error).name === "BuildError" ? `error: ${(e as Error).message}` : e);
    process.exit(1);
  }
}
