/** own-binary.ts: what counts as an upgrade of the daemon's binary. */
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { binaryAt, ownBinary, replaced } from "../../../src/services/own-binary.ts";

const dir = mkdtempSync(join(tmpdir(), "vmlan-own-binary-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("the same file is not a replacement; a file renamed over it is; a missing path is not (yet)", () => {
  const path = join(dir, "vmlan");
  writeFileSync(path, "old", { mode: 0o755 });
  const own = binaryAt(path)!;
  expect(replaced(own)).toBe(false);
  copyFileSync(path, `${path}.new`);
  unlinkSync(path); // an installer between unlink and rename
  expect(replaced(own)).toBe(false);
  renameSync(`${path}.new`, path);
  expect(replaced(own)).toBe(true);
});

test("a directory put at the path is not a binary", () => {
  const path = join(dir, "d");
  writeFileSync(path, "x");
  const own = binaryAt(path)!;
  rmSync(path);
  mkdirSync(path);
  expect(replaced(own)).toBe(false);
});

test("running from source (bun src/main.ts) there is no binary to follow", () => {
  expect(ownBinary(false)).toBeNull();
  expect(ownBinary(true)?.path).toBe(process.execPath);
});
