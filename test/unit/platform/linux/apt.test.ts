/**
 * The one installer (src/platform/linux/apt.ts): what counts as present, the command it runs, the
 * line a user gets when it cannot install (a child process that is not root), and, against a
 * stand-in apt-get on PATH (never the real one), the one line it prints and its update-and-retry.
 */
import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
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

test.skipIf(process.getuid?.() !== 0)("as root: one line naming what it installs; stale package lists are refreshed once and the install retried", () => {
  // A stand-in apt-get on PATH: `install` fails until `update` ran (a bare machine's empty lists), then
  // "installs" the command by writing it into another folder on PATH. Every call is logged.
  const dir = mkdtempSync(join(tmpdir(), "vmlan-fake-apt-"));
  try {
    const bin = join(dir, "bin");
    const installed = join(dir, "installed");
    mkdirSync(bin);
    mkdirSync(installed);
    writeFileSync(join(bin, "apt-get"), `#!/bin/sh
echo "$*" >> ${dir}/calls
case "$*" in
  *update*) touch ${dir}/lists; exit 0 ;;
  *install*) [ -e ${dir}/lists ] || { echo "E: Unable to locate package vmlan-fake" >&2; exit 100; }
             printf '#!/bin/sh\\n' > ${installed}/vmlan-fake-tool; chmod +x ${installed}/vmlan-fake-tool ;;
esac
`, { mode: 0o755 });
    const script = `import { ensureCommands } from ${JSON.stringify(APT)};
console.log(JSON.stringify(ensureCommands([{ command: "vmlan-fake-tool", debianPackage: "vmlan-fake", why: "the test" }], { log: (l) => console.log(l) })));`;
    const r = Bun.spawnSync([process.execPath, "-e", script], {
      env: { ...process.env, PATH: `${bin}:${installed}:${process.env.PATH}` }, stdout: "pipe", stderr: "pipe",
    });
    expect({ out: r.stdout.toString(), err: r.stderr.toString() }).toEqual({
      out: `installing vmlan-fake with apt-get (missing: vmlan-fake-tool)\n["vmlan-fake"]\n`, err: "",
    });
    expect(readFileSync(join(dir, "calls"), "utf8").trim().split("\n").map((l) => l.split(" ").slice(0, 1).concat(l.split(" ").at(-1)!).join(" "))).toEqual([
      "install vmlan-fake", "update DPkg::Lock::Timeout=600", "install vmlan-fake",
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
