/**
 * `vmlan compat install|uninstall --prefix DIR` (never the real /opt paths in a test): links named
 * after the peers' programs point at the binary and run as those programs; a file that is not a link
 * to vmlan is never replaced or removed.
 */
import { afterAll, expect, test } from "bun:test";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan, vmlanBin } from "../../support/binary.ts";

const dir = mkdtempSync(join(tmpdir(), "vmlan-compat-install-"));
const env = { VMLAN_STATE_DIR: join(dir, "state") };
const compat = async (...args: string[]) => {
  const r = await runVmlan(["compat", ...args, "--prefix", dir, "--format", "json"], { env });
  return { ...r, rows: r.stdout ? (JSON.parse(r.stdout) as { name: string; path: string; outcome: string }[]) : [] };
};
const outcomes = (rows: { name: string; outcome: string }[]) => Object.fromEntries(rows.map((r) => [r.name, r.outcome]));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("install: links in PREFIX/bin to this binary that run as the peer; again: unchanged; a link to an old vmlan: updated", async () => {
  const first = await compat("install");
  expect(first.exitCode).toBe(0);
  expect(outcomes(first.rows)).toMatchObject({ "vmnet-helper": "created", "vmnet-run": "created" });
  for (const r of first.rows) expect(readlinkSync(r.path)).toBe(vmlanBin());
  const v = Bun.spawnSync([join(dir, "bin", "vmnet-helper"), "--version"], { stdout: "pipe" });
  expect(v.stdout.toString()).toStartWith("version: v");
  expect(outcomes((await compat("install")).rows)).toMatchObject({ "vmnet-helper": "unchanged", "vmnet-run": "unchanged" });
  rmSync(join(dir, "bin", "vmnet-run"));
  symlinkSync("/old/place/vmlan-linux-x64", join(dir, "bin", "vmnet-run"));
  expect(outcomes((await compat("install")).rows)["vmnet-run"]).toBe("updated");
  expect(readlinkSync(join(dir, "bin", "vmnet-run"))).toBe(vmlanBin());
});

test("a real program in the way is left alone: install exits 4 naming it, uninstall keeps it and removes only vmlan's links", async () => {
  rmSync(join(dir, "bin", "vmnet-helper"));
  writeFileSync(join(dir, "bin", "vmnet-helper"), "#!/bin/sh\necho the real one\n", { mode: 0o755 });
  const r = await compat("install");
  expect(r.exitCode).toBe(4);
  expect(r.stderr).toBe("");
  expect(outcomes(r.rows)).toMatchObject({ "vmnet-helper": "failed", "vmnet-run": "unchanged" });
  const table = await runVmlan(["compat", "install", "--prefix", dir], { env });
  expect(table.stderr).toContain(`error: ${join(dir, "bin", "vmnet-helper")} exists and is not a link to vmlan`);
  const u = await compat("uninstall");
  expect(u.exitCode).toBe(0);
  expect(outcomes(u.rows)).toMatchObject({ "vmnet-helper": "kept", "vmnet-run": "removed" });
  expect(readFileSync(join(dir, "bin", "vmnet-helper"), "utf8")).toContain("the real one");
  expect(() => lstatSync(join(dir, "bin", "vmnet-run"))).toThrow();
  expect(outcomes((await compat("uninstall")).rows)["vmnet-run"]).toBe("absent");
  mkdirSync(join(dir, "bin"), { recursive: true });
});
