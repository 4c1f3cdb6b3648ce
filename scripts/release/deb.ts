/**
 * vmlan_<version>_<arch>.deb with dpkg-deb: the binary in /usr/bin, man pages, completions, the
 * broker's systemd units exactly as `vmlan system install` writes them (installed, not enabled:
 * no maintainer script), copyright and changelog; checked by lintian in test/scripts/release.test.ts.
 */
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { systemdUnits } from "../../src/broker/service-files.ts";
import { pipeline } from "./sh.ts";
import { COMPLETION_FILES, REPO_ROOT, type Staged } from "./stage.ts";

export const DEB_ARCH: Record<string, string> = { "linux-x64": "amd64", "linux-arm64": "arm64" };

/** Debian sorts "~" before anything, so 1.0.0-rc.1 (semver) becomes 1.0.0~rc.1, older than 1.0.0. */
export const debVersion = (version: string) => version.replace("-", "~");
export const debName = (version: string, arch: string) => `vmlan_${debVersion(version)}_${arch}.deb`;

/** The newest GLIBC_x.y symbol version the binary refers to: the libc6 it needs at least. */
export function glibcNeeded(binary: string): string {
  let best = [2, 17];
  for (const m of readFileSync(binary).toString("latin1").matchAll(/GLIBC_2\.(\d+)(?:\.(\d+))?\0/g)) {
    const v = [2, Number(m[1]), Number(m[2] ?? 0)];
    if (v[1]! > best[1]! || (v[1] === best[1] && (v[2] ?? 0) > (best[2] ?? 0))) best = v;
  }
  return best.slice(0, best[2] ? 3 : 2).join(".");
}

/** What the service files say on a machine with the package: the paths a root `system install` uses. */
const UNIT_PARAMS = { bin: "/usr/bin/vmlan", stateDir: "/var/lib/vmlan", socket: "/var/lib/vmlan/broker.sock", group: "root", exitIdle: 600 };

function file(root: string, path: string, content: string | Buffer, mode = 0o644): void {
  mkdirSync(join(root, path, ".."), { recursive: true });
  writeFileSync(join(root, path), content);
  chmodSync(join(root, path), mode);
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

function template(name: string, values: Record<string, string>): string {
  return readFileSync(join(REPO_ROOT, "packaging", "debian", name), "utf8").replace(/@([A-Z_]+)@/g, (_, k: string) => values[k] ?? `@${k}@`);
}

export interface DebOptions {
  binary: string; target: string; version: string; staged: Staged; work: string; out: string;
  homepage: string; maintainer: string; epoch: number;
}

export async function makeDeb(o: DebOptions): Promise<string> {
  const arch = DEB_ARCH[o.target]!;
  const root = join(o.work, `deb-${arch}`);
  mkdirSync(join(root, "usr", "bin"), { recursive: true });
  copyFileSync(o.binary, join(root, "usr", "bin", "vmlan"));
  chmodSync(join(root, "usr", "bin", "vmlan"), 0o755);
  // Debian policy 12.3: man pages compressed with gzip -9n.
  for (const page of o.staged.manPages) {
    file(root, `usr/share/man/man1/${page}.gz`, gzipSync(readFileSync(join(o.staged.dir, "man1", page)), { level: 9 }));
  }
  const completions = { bash: "usr/share/bash-completion/completions", zsh: "usr/share/zsh/vendor-completions", fish: "usr/share/fish/vendor_completions.d" };
  for (const [shell, dir] of Object.entries(completions)) {
    const name = COMPLETION_FILES[shell as keyof typeof COMPLETION_FILES];
    file(root, `${dir}/${name}`, readFileSync(join(o.staged.dir, "completions", name)));
  }
  for (const [name, text] of Object.entries(systemdUnits(UNIT_PARAMS))) file(root, `usr/lib/systemd/system/${name}`, text);
  const date = new Date(o.epoch * 1000).toUTCString().replace("GMT", "+0000");
  const values = { VERSION: debVersion(o.version), HOMEPAGE: o.homepage, MAINTAINER: o.maintainer, DATE: date, ARCH: arch, YEAR: String(new Date(o.epoch * 1000).getUTCFullYear()) };
  file(root, "usr/share/doc/vmlan/copyright", template("copyright", values));
  file(root, "usr/share/doc/vmlan/changelog.gz", gzipSync(Buffer.from(template("changelog", values)), { level: 9 }));
  file(root, "usr/share/lintian/overrides/vmlan", template("lintian-overrides", values));

  const files = walk(root).filter((f) => !relative(root, f).startsWith("DEBIAN"));
  const md5 = files.map((f) => `${new Bun.CryptoHasher("md5").update(readFileSync(f)).digest("hex")}  ${relative(root, f)}`).sort();
  const installedKb = Math.ceil(files.reduce((s, f) => s + statSync(f).size, 0) / 1024);
  file(root, "DEBIAN/control", template("control", { ...values, INSTALLED_SIZE: String(installedKb), GLIBC: glibcNeeded(o.binary) }));
  file(root, "DEBIAN/md5sums", `${md5.join("\n")}\n`);

  const out = join(o.out, debName(o.version, arch));
  // gzip, not dpkg-deb's default xz: 53 instead of 45 MB for the ~110 MB binary, but about 3x faster to build.
  await pipeline(`SOURCE_DATE_EPOCH=${o.epoch} dpkg-deb --root-owner-group -Zgzip -z6 --build '${root}' '${out}' >/dev/null`, REPO_ROOT);
  return out;
}
