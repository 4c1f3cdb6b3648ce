/**
 * The one installer (src/platform/linux/apt.ts): what counts as present, the command it runs, and
 * the line a user gets when it cannot install (not root), from a child process that is not root.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { ensureCommands, installCommand, isPresent, missingOf } from "../../../../src/platform/linux/apt.ts";

const APT = join(import.meta.dir, "..", "..", "..", "..", "src", "platform", "linux", "apt.ts");

test("a command on PATH or in the sbin folders, or a file, is present", () => {
  expect(isPresent({ command: "sh", debianPackage: "dash", why: "" })).toBe(true);
  expect(isPresent({ command: "/etc/passwd", debianPackage: "base-files", why: "" })).toBe(true);
  expect(missingOf([
    { command: "vmlan-no-such-tool", debianPackage: "a", why: "" },
    { command: "/no/such/header.h", debianPackage: "b", why: "" },
    { command: "sh", debianPackage: "dash", why: "" },
  ]).map((r) => r.debianPackage)).toEqual(["a", "b"]);
});

test("nothing missing: nothing installed, nothing said", () => {
  const said: string[] = [];
  expect(ensureCommands([{ command: "sh", debianPackage: "dash", why: "" }], { log: (l) => said.push(l) })).toEqual([]);
  expect(said).toEqual([]);
});

test("the install command waits for dpkg's lock and skips recommends", () => {
  expect(installCommand(["nftables", "qemu-system-x86"])).toEqual([
    "apt-get", "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=600", "--no-install-recommends", "nftables", "qemu-system-x86",
  ]);
});

test.skipIf(process.getuid?.() !== 0)("not root: one error naming what is missing and the exact command to run", () => {
  const script = `import { ensureCommands } from ${JSON.stringify(APT)};
try { ensureCommands([{ command: "vmlan-no-such-tool", debianPackage: "vmlan-pkg", why: "the test" }], { log: console.log }); }
catch (e) { console.log(e.message); }`;
  const r = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
  expect(r.stdout.toString()).toBe(
    "missing vmlan-no-such-tool (the test); install with: sudo apt-get update && " +
    "sudo apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends vmlan-pkg\n",
  );
});
