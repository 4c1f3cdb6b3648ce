import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPrivate } from "../../../../src/core/store/private.ts";

test("the store file is made 0600 from the start, whatever the umask, and only once", () => {
  const dir = mkdtempSync(join(tmpdir(), "vmlan-private-"));
  const old = process.umask(0);
  try {
    const path = join(dir, "vmlan.db");
    expect(createPrivate(path)).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(createPrivate(path)).toBe(false); // another process made it first: not ours to report as fresh
  } finally {
    process.umask(old);
    rmSync(dir, { recursive: true, force: true });
  }
});
