/**
 * Fast paths stay fast: `version` and `--help` must open no native library (STYLE habit 8).
 * With VMLAN_DEBUG_FFI=1 the FFI loader prints `ffi: open <lib>` for every library it opens, so
 * counting those lines is a deterministic stand-in for a timing test, which would be flaky here.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "./support/binary.ts";

const stateDir = mkdtempSync(join(tmpdir(), "vmlan-startup-"));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));
const env = { VMLAN_STATE_DIR: stateDir, VMLAN_DEBUG_FFI: "1" };

const libraryOpens = (stderr: string) => stderr.split("\n").filter((line) => line.startsWith("ffi: open"));

for (const args of [["version"], ["--help"]]) {
  test(`vmlan ${args.join(" ")} exits 0 and opens no library`, async () => {
    const r = await runVmlan(args, { env });
    expect(libraryOpens(r.stderr)).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(0);
  });
}

test("vmlan version --format json prints an object with a version", async () => {
  const r = await runVmlan(["version", "--format", "json"], { env });
  expect(r.exitCode).toBe(0);
  expect(libraryOpens(r.stderr)).toEqual([]);
  const parsed = JSON.parse(r.stdout) as Record<string, unknown>;
  expect(typeof parsed.version).toBe("string");
});

test("plugin mode (CNI_COMMAND set, no arguments): VERSION opens no library; with arguments it is the CLI", async () => {
  const plugin = await runVmlan([], { env: { ...env, CNI_COMMAND: "VERSION" }, stdin: '{"cniVersion":"1.0.0"}' });
  expect(libraryOpens(plugin.stderr)).toEqual([]);
  expect(JSON.parse(plugin.stdout)).toMatchObject({ cniVersion: "1.0.0" });
  const cli = await runVmlan(["version"], { env: { ...env, CNI_COMMAND: "ADD" } });
  expect([cli.exitCode, cli.stdout.startsWith("vmlan ")]).toEqual([0, true]);
});
