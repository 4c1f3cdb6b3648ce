/**
 * `bun run release` once for this file (four targets, tarballs, two .debs: 20-40 s on 2 cores),
 * then every artifact checked the way its users meet it: sha256sum -c, tar, the Homebrew formula
 * through `ruby -c` and its own install and test blocks (test/support/brew-harness.rb) against the
 * linux-x64 tarball, the .debs through lintian (both at once) and `dpkg --root` into a scratch root
 * where the installed binary answers `vmlan version`. Root: dpkg --root and the tools npm test installs.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TARGETS } from "../../../scripts/build.ts";
import { detectExecutable } from "../../../scripts/executable-format.ts";
import { vmlanBin } from "../../support/binary.ts";

const ROOT = join(import.meta.dir, "..", "..", "..");
const VERSION = "9.8.7-rc.1";
const DEB_VERSION = "9.8.7~rc.1";
const REPO = "example-org/vmlan";
const tmp = mkdtempSync(join(tmpdir(), "vmlan-release-"));
const out = join(tmp, "out");
const TARBALLS = Object.keys(TARGETS).map((t) => `vmlan-${VERSION}-${t}.tar.gz`);
const DEBS = ["amd64", "arm64"].map((a) => `vmlan_${DEB_VERSION}_${a}.deb`);
let log = "";

function sh(argv: string[], o: { cwd?: string; env?: Record<string, string> } = {}): { code: number; out: string; err: string } {
  const r = Bun.spawnSync(argv, { cwd: o.cwd ?? out, env: { ...process.env, ...o.env }, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? 1, out: r.stdout.toString(), err: r.stderr.toString() };
}

beforeAll(() => {
  const r = sh([process.execPath, join(ROOT, "scripts", "release.ts"), "--version", VERSION, "--repo", REPO, "--out", out, "--maintainer", "Release Test <release@example.org>"], { cwd: ROOT });
  log = r.out + r.err;
  if (r.code !== 0) throw new Error(`bun run release failed (${r.code}):\n${log}`);
  console.log(log.split("\n").filter((l) => /^\[[\d.]+ s\]/.test(l)).join("\n"));
}, 300_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test("four tarballs, two .debs and SHA256SUMS of all six; nothing else", () => {
  expect(readdirSync(out).sort()).toEqual([...TARBALLS, ...DEBS, "Formula", "SHA256SUMS"].sort());
  const check = sh(["sha256sum", "-c", "SHA256SUMS"]);
  expect(check.code).toBe(0);
  expect(check.out.trim().split("\n").sort()).toEqual([...TARBALLS, ...DEBS].map((f) => `${f}: OK`).sort());
});

describe("tarballs", () => {
  for (const [target, t] of Object.entries(TARGETS)) {
    const file = `vmlan-${VERSION}-${target}.tar.gz`;
    test(`${file}: one folder with the ${target} binary, man pages, completions, LICENSE, README`, () => {
      const top = `vmlan-${VERSION}-${target}`;
      // One pass over the 50 MB archive for the listing; the two reads below stop at their member.
      const listing = sh(["tar", "-tvzf", file]).out.trim().split("\n").filter((l) => !l.startsWith("d"));
      const names = listing.map((l) => l.split(/\s+/).at(-1)!);
      expect(names.every((n) => n.startsWith(`${top}/`))).toBe(true);
      const inside = names.map((n) => n.slice(top.length + 1));
      expect(inside).toEqual(expect.arrayContaining(["bin/vmlan", "LICENSE", "README.md", "share/man/man1/vmlan.1", "share/man/man1/vmlan-network.1",
        "share/bash-completion/completions/vmlan", "share/zsh/site-functions/_vmlan", "share/fish/vendor_completions.d/vmlan.fish"]));
      expect(sh(["tar", "--occurrence=1", "-xzOf", file, `${top}/LICENSE`]).out).toContain("Apache License");
      const head = Bun.spawnSync(["bash", "-c", `tar -xzOf ${file} ${top}/bin/vmlan | head -c 64`], { cwd: out, stdout: "pipe" }).stdout;
      expect(detectExecutable(new Uint8Array(head))).toEqual({ os: t.os, arch: t.arch });
      const mode = listing.find((l) => l.endsWith(`${top}/bin/vmlan`))!;
      expect(mode).toMatch(/^-rwxr-xr-x 0\/0 /); // --numeric-owner
    });
  }
});

describe("Homebrew formula", () => {
  const formula = () => readFileSync(join(out, "Formula", "vmlan.rb"), "utf8");
  const sums = () => Object.fromEntries(readFileSync(join(out, "SHA256SUMS"), "utf8").trim().split("\n").map((l) => l.split("  ").reverse()));

  test("ruby -c passes; every url is the release's and every sha256 the tarball's; no placeholder left", () => {
    expect(sh(["ruby", "-c", "Formula/vmlan.rb"]).out).toContain("Syntax OK");
    const text = formula();
    expect(text).not.toMatch(/@[A-Z0-9_]+@|REPLACE|OWNER/);
    const pairs = [...text.matchAll(/url "([^"]+)"\s+sha256 "([0-9a-f]{64})"/g)].map((m) => [m[1], m[2]]);
    expect(pairs).toEqual(["darwin-arm64", "darwin-x64", "linux-arm64", "linux-x64"].map((t) => {
      const f = `vmlan-${VERSION}-${t}.tar.gz`;
      return [`https://github.com/${REPO}/releases/download/v${VERSION}/${f}`, sums()[f]];
    }));
    expect(text).toContain(`version "${VERSION}"`);
  });

  test("its install block installs the linux-x64 tarball, and its test block passes against that binary", () => {
    const prefix = join(tmp, "brew-prefix");
    const r = sh(["ruby", join(ROOT, "test", "support", "brew-harness.rb"), "Formula/vmlan.rb", `vmlan-${VERSION}-linux-x64.tar.gz`, prefix]);
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
    expect(r.out).toContain("test block passed");
    for (const f of ["bin/vmlan", "share/man/man1/vmlan-vm.1", "etc/bash_completion.d/vmlan", "share/zsh/site-functions/_vmlan", "share/fish/vendor_completions.d/vmlan.fish"]) {
      expect({ f, there: existsSync(join(prefix, f)) }).toEqual({ f, there: true });
    }
  });

  test("a formula whose sha256 does not match its tarball fails the harness", () => {
    const bad = join(tmp, "vmlan.rb");
    writeFileSync(bad, formula().replace(/sha256 "[0-9a-f]{64}"/g, `sha256 "${"0".repeat(64)}"`));
    const r = sh(["ruby", join(ROOT, "test", "support", "brew-harness.rb"), bad, `vmlan-${VERSION}-linux-x64.tar.gz`, join(tmp, "bad-prefix")]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("is not the tarball's");
  });
});

describe(".deb", () => {
  test("control fields, contents, and no maintainer script (the units are installed, not enabled)", () => {
    const deb = DEBS[0]!;
    const field = (f: string) => sh(["dpkg-deb", "-f", deb, f]).out.trim();
    expect([field("Package"), field("Version"), field("Architecture"), field("Depends")]).toEqual(["vmlan", DEB_VERSION, "amd64", "libc6 (>= 2.17)"]);
    expect(field("Maintainer")).toBe("Release Test <release@example.org>");
    expect(sh(["dpkg-deb", "-f", DEBS[1]!, "Architecture"]).out.trim()).toBe("arm64");
    const files = sh(["dpkg-deb", "-c", deb]).out;
    for (const f of ["./usr/bin/vmlan", "./usr/share/man/man1/vmlan-network.1.gz", "./usr/lib/systemd/system/vmlan-broker.socket",
      "./usr/lib/systemd/system/vmlan-broker.service", "./usr/share/bash-completion/completions/vmlan", "./usr/share/doc/vmlan/copyright"]) {
      expect({ f, there: files.includes(` ${f}\n`) }).toEqual({ f, there: true });
    }
    expect(files).not.toContain("./etc/");
    const control = mkdtempSync(join(tmp, "control-"));
    sh(["dpkg-deb", "-e", deb, control]);
    expect(readdirSync(control).sort()).toEqual(["control", "md5sums"]);
  });

  test("lintian: no errors on either .deb; only the two documented overrides", async () => {
    const runs = DEBS.map((d) => Bun.spawn(["lintian", "--show-overrides", d], { cwd: out, stdout: "pipe", stderr: "pipe" }));
    const texts = await Promise.all(runs.map((p) => new Response(p.stdout).text()));
    for (const [i, text] of texts.entries()) {
      const tags = (kind: string) => text.split("\n").filter((l) => l.startsWith(`${kind}: `));
      expect({ deb: DEBS[i], errors: tags("E") }).toEqual({ deb: DEBS[i], errors: [] });
      expect(tags("O").map((l) => l.replace(/^O: vmlan: /, "")).sort()).toEqual(["embedded-library libjpeg [usr/bin/vmlan]", "unstripped-binary-or-object [usr/bin/vmlan]"]);
    }
  }, 180_000);

  test("dpkg --root installs it into a scratch root; the installed binary answers `vmlan version`; units as `system install` writes them", () => {
    const root = join(tmp, "root");
    for (const d of ["var/lib/dpkg/updates", "var/lib/dpkg/info"]) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, "var/lib/dpkg/status"), "");
    const inst = sh(["dpkg", `--root=${root}`, "--force-depends", "-i", DEBS[0]!]); // libc6 is the host's, not in the scratch db
    const unexpected = inst.err.split("\n").filter((l) => l.trim() && !/dependency problems|depends on libc6|Package libc6 is not installed/.test(l));
    expect({ code: inst.code, unexpected }).toEqual({ code: 0, unexpected: [] });
    const v = sh([join(root, "usr/bin/vmlan"), "version"]);
    expect(v.out).toStartWith(`vmlan ${VERSION} (`);
    expect(sh(["dpkg", `--root=${root}`, "-s", "vmlan"]).out).toContain("Status: install ok installed");
    const ref = join(tmp, "system-install");
    const w = sh([vmlanBin(), "system", "install", "--root", ref, "--bin", "/usr/bin/vmlan", "--group", "root", "--no-load"], { env: { VMLAN_STATE_DIR: "/var/lib/vmlan" } });
    expect(w.code).toBe(0);
    for (const unit of ["vmlan-broker.socket", "vmlan-broker.service"]) {
      expect(readFileSync(join(root, "usr/lib/systemd/system", unit), "utf8")).toBe(readFileSync(join(ref, "etc/systemd/system", unit), "utf8"));
    }
    expect(existsSync(join(root, "etc/systemd"))).toBe(false); // nothing enabled
    expect(sh(["man", "-l", join(root, "usr/share/man/man1/vmlan-network.1.gz")], { env: { MANWIDTH: "80" } }).out).toContain("vmlan network create");
  });
});

test("bad --version or --repo: one error line, nothing built", () => {
  const bad = sh([process.execPath, join(ROOT, "scripts", "release.ts"), "--version", "1.x", "--out", join(tmp, "never")], { cwd: ROOT });
  expect({ code: bad.code, err: bad.err }).toEqual({ code: 1, err: `error: invalid --version "1.x": expected X.Y.Z or X.Y.Z-pre (semver)\n` });
  const repo = sh([process.execPath, join(ROOT, "scripts", "release.ts"), "--version", "1.0.0", "--repo", "nope", "--out", join(tmp, "never")], { cwd: ROOT });
  expect(repo.err).toBe(`error: invalid --repo "nope": expected OWNER/NAME\n`);
  expect(existsSync(join(tmp, "never"))).toBe(false);
});
