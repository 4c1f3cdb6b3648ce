/** The pure parts of `bun run release`; the artifacts themselves: test/integration/release/release.test.ts. */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { debName, debVersion, glibcNeeded } from "../../scripts/release/deb.ts";
import { renderFormula } from "../../scripts/release/formula.ts";
import { parseOptions } from "../../scripts/release.ts";

const dir = mkdtempSync(join(tmpdir(), "vmlan-release-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a semver pre-release sorts before its release in Debian's order (~)", () => {
  expect(debVersion("1.2.3")).toBe("1.2.3");
  expect(debVersion("1.2.3-rc.1")).toBe("1.2.3~rc.1");
  expect(debName("1.2.3-rc.1", "arm64")).toBe("vmlan_1.2.3~rc.1_arm64.deb");
});

test("the libc6 a binary needs is its newest GLIBC_ symbol version", () => {
  const f = join(dir, "fake-elf");
  writeFileSync(f, Buffer.from("\0GLIBC_2.2.5\0GLIBC_2.17\0GLIBC_2.34\0GLIBC_2.3.4\0GLIBC_PRIVATE\0", "latin1"));
  expect(glibcNeeded(f)).toBe("2.34");
  writeFileSync(f, "no versions here");
  expect(glibcNeeded(f)).toBe("2.17");
});

test("the formula is refused while any target's url or sha256 is missing", () => {
  const asset = (target: string) => ({ target, url: `https://x/${target}.tar.gz`, sha256: "a".repeat(64) });
  expect(() => renderFormula({ version: "1.0.0", homepage: "https://x", assets: [asset("linux-x64")] })).toThrow(/no value for @URL_DARWIN_ARM64@, @SHA256_DARWIN_ARM64@/);
  const text = renderFormula({ version: "1.0.0", homepage: "https://x", assets: ["linux-x64", "linux-arm64", "darwin-arm64", "darwin-x64"].map(asset) });
  expect(text).toContain(`url "https://x/darwin-x64.tar.gz"`);
  expect(text).not.toMatch(/@[A-Z0-9_]+@/);
});

test("options: the repository from package.json, the maintainer from DEBFULLNAME/DEBEMAIL; bad values named", async () => {
  const saved = { n: process.env.DEBFULLNAME, e: process.env.DEBEMAIL };
  process.env.DEBFULLNAME = "A Person";
  process.env.DEBEMAIL = "a@example.org";
  try {
    expect(await parseOptions(["--version", "1.0.0"])).toMatchObject({ repo: "vmlan/vmlan", maintainer: "A Person <a@example.org>" });
    await expect(parseOptions(["--version", "1.0.0", "--maintainer", "nobody"])).rejects.toThrow(`invalid --maintainer "nobody"`);
    await expect(parseOptions([])).rejects.toThrow("--version is required");
  } finally {
    for (const [k, v] of [["DEBFULLNAME", saved.n], ["DEBEMAIL", saved.e]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});
