/**
 * Validate before allocating (issue #12 item 12): `vm run`, `run` and `helper` with bad input fail
 * with one line naming the flag or the value and exit 2, before any attachment is made (not even a
 * released claim), any helper or QEMU is started, or anything in the store changes.
 * QEMU is replaced by a shim on PATH that records any start, so the test never boots a guest.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { createNetns, type Netns } from "../../support/netns.ts";

let ns: Netns;
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-validate-"));
const binDir = mkdtempSync(join(tmpdir(), "vmlan-validate-bin-"));
const started = join(binDir, "qemu-started");
const env = { VMLAN_STATE_DIR: stateDir, PATH: `${binDir}:${process.env.PATH}` };
const vmlan = (...args: string[]) => runVmlan(args, { env, netns: ns.name });
/** Everything a failed command could have changed: networks, every attachment row, and the VM registry. */
const snapshot = async () => ({
  attachments: (await vmlan("attachments", "--all", "--format", "json")).stdout,
  networks: (await vmlan("network", "list", "--format", "json")).stdout,
  vms: (await vmlan("vm", "list", "--format", "json")).stdout,
  taps: ns.sh(["ip", "-o", "link", "show", "type", "tun"]),
});

beforeAll(async () => {
  ns = createNetns();
  // A QEMU that records that it was started and fails, so nothing can boot even if validation is missing.
  writeFileSync(join(binDir, "qemu-system-x86_64"), `#!/bin/sh\necho "$@" >> ${started}\nexit 1\n`);
  chmodSync(join(binDir, "qemu-system-x86_64"), 0o755);
  const r = await vmlan("network", "create", "v", "--subnet", "10.74.0.0/24", "--mode", "host");
  if (r.exitCode !== 0) throw new Error(`network create: ${r.stderr}`);
  // One existing claim, so "unchanged" is also checked against a store that is not empty.
  await vmlan("attach", "v", "--id", "kept");
  await vmlan("detach", "v", "--id", "kept");
});
afterAll(() => {
  ns?.delete();
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(binDir, { recursive: true, force: true });
});

async function expectRefused(args: string[], line: string | RegExp, code = 2): Promise<void> {
  const before = await snapshot();
  const r = await vmlan(...args);
  expect(r.exitCode, r.stderr).toBe(code);
  const lines = r.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("note: "));
  expect(lines.length, r.stderr).toBe(1);
  if (typeof line === "string") expect(lines[0]).toBe(line);
  else expect(lines[0]).toMatch(line);
  expect(r.stderr).not.toContain("vmlan helper:"); // no helper was started
  expect(existsSync(started)).toBe(false); // nor QEMU
  expect(await snapshot()).toEqual(before);
}

describe("vm run validates its input before it attaches anything", () => {
  test("--kernel that does not exist", () =>
    expectRefused(["vm", "run", "--network", "v", "--name", "k1", "--kernel", "/nonexistent"], `error: --kernel "/nonexistent": no such file`));
  test("--initrd that does not exist", () =>
    expectRefused(["vm", "run", "--network", "v", "--name", "k2", "--kernel", "/bin/true", "--initrd", "/nonexistent/initrd"], `error: --initrd "/nonexistent/initrd": no such file`));
  test("--kernel that is a directory", () =>
    expectRefused(["vm", "run", "--network", "v", "--name", "k3", "--kernel", "/tmp"], `error: --kernel "/tmp": a directory, not a file`));
  test("--disk that does not exist", () =>
    expectRefused(["vm", "run", "--network", "v", "--name", "k4", "--kernel", "/bin/true", "--disk", "/nonexistent.img"], `error: --disk "/nonexistent.img": no such file`));
  test("a network that does not exist, after one that does", () =>
    expectRefused(["vm", "run", "--network", "v", "--network", "nope", "--name", "k5", "--kernel", "/bin/true"], `error: no network named "nope"`, 3));
  test("--console into a directory that does not exist", () =>
    expectRefused(["vm", "run", "--network", "v", "--name", "k6", "--kernel", "/bin/true", "--console", "/nonexistent/dir/console.log"], `error: --console "/nonexistent/dir/console.log": directory "/nonexistent/dir" does not exist`));
});

describe("run validates its input before it starts helpers or attaches", () => {
  for (const native of [false, true]) {
    const mode = native ? ["--native"] : [];
    test(`${native ? "--native: " : ""}a COMMAND that does not exist`, () =>
      expectRefused(["run", ...mode, "--network", "v", "--id", "r1", "--", "/nonexistent/cmd", "arg"], `error: COMMAND "/nonexistent/cmd": no such file`));
    test(`${native ? "--native: " : ""}a COMMAND not found on PATH`, () =>
      expectRefused(["run", ...mode, "--network", "v", "--id", "r2", "--", "no-such-command-vmlan"], `error: COMMAND "no-such-command-vmlan": not found on PATH`));
    test(`${native ? "--native: " : ""}a bad --id`, () =>
      expectRefused(["run", ...mode, "--network", "v", "--id", "bad id", "--", "true"], /^error: invalid interface id "bad id"/));
    test(`${native ? "--native: " : ""}a network that does not exist, after one that does`, () =>
      expectRefused(["run", ...mode, "--network", "v", "--network", "nope", "--id", "r3", "--", "true"], `error: no network named "nope"`, 3));
  }
  test("--broker: a network that does not exist is refused before the broker is asked", () =>
    expectRefused(["run", "--broker", "--network", "nope", "--id", "r4", "--", "true"], `error: no network named "nope"`, 3));
});

describe("helper validates --id and --mac before it attaches", () => {
  test("a bad --id", () => expectRefused(["helper", "--network", "v", "--id", "bad id", "--socket", join(stateDir, "x.sock")], /^error: invalid interface id "bad id"/));
  test("a bad --mac", () => expectRefused(["helper", "--network", "v", "--id", "m", "--mac", "01:00:5e:00:00:01", "--socket", join(stateDir, "y.sock")], /^error: invalid MAC address "01:00:5e:00:00:01": it is a multicast address/));
});
