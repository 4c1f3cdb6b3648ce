/** socket_vmnet's pidfile (src/switch/pidfile.ts): the pid without a newline, 0644, locked, refused twice, removed at exit. */
import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPidfile } from "../../../src/switch/pidfile.ts";

const dir = () => mkdtempSync(join(tmpdir(), "vmlan-pidfile-"));

test("writes the pid (no newline, mode 0644), holds it against a second daemon, and removes it", () => {
  const d = dir();
  const path = join(d, "sv.pid");
  writeFileSync(path, "999999999 stale and longer than a pid\n");
  const pf = createPidfile(path, 4242);
  expect(readFileSync(path, "utf8")).toBe("4242");
  expect(statSync(path).mode & 0o777).toBe(0o644 & ~process.umask());
  expect(() => createPidfile(path, 7)).toThrow(`Failed to open pidfile: "${path}": Resource temporarily unavailable (another process holds it)`);
  expect(readFileSync(path, "utf8")).toBe("4242"); // the loser did not truncate it
  pf.remove();
  pf.remove();
  expect(existsSync(path)).toBe(false);
  createPidfile(path, 8).remove(); // free again
  rmSync(d, { recursive: true, force: true });
});

test("a symlink at the pidfile path is refused and its target left alone", () => {
  const d = dir();
  writeFileSync(join(d, "victim"), "keep me");
  symlinkSync(join(d, "victim"), join(d, "sv.pid"));
  expect(() => createPidfile(join(d, "sv.pid"))).toThrow("Too many levels of symbolic links");
  expect(readFileSync(join(d, "victim"), "utf8")).toBe("keep me");
  rmSync(d, { recursive: true, force: true });
});
