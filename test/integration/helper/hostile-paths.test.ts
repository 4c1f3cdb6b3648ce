/**
 * `vmlan helper` against hostile local input (issue #12 items 8 and 9): whatever sits at --socket
 * PATH or PATH.lock, and whatever fd --fd names, the helper never deletes or follows anything that is
 * not a stale socket of its own, and refuses an unusable --fd before it allocates or announces
 * anything: one error line, exit 2, no start line, no attachment, no TAP.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { libc } from "../../../ffi/libc/load.ts";
import { AF_INET, AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_STREAM } from "../../../ffi/libc/constants.ts";
import { createNetns, type Netns } from "../../support/netns.ts";
import { LineProc, vmlanIn } from "./proc.ts";

let ns: Netns;
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-hostile-"));
const dir = mkdtempSync(join(tmpdir(), "vmlan-hostile-sock-"));
const env = { VMLAN_STATE_DIR: stateDir };
const procs: LineProc[] = [];
const vmlan = (...args: string[]) => runVmlan(args, { env, netns: ns.name });
const attachments = async (): Promise<unknown[]> => JSON.parse((await vmlan("attachments", "--all", "--format", "json")).stdout);
const taps = () => ns.sh(["ip", "-o", "link", "show", "type", "tun"]).trim();

/** Runs the helper with `fds` as its fds 3, 4, ...; returns exit code and output once it exits. */
async function helper(args: string[], fds: number[] = []): Promise<{ code: number; out: string[]; err: string[] }> {
  const p = vmlanIn(ns.name, ["helper", "--network", "h", ...args], env, fds);
  procs.push(p);
  const code = await p.exited(8000);
  await Bun.sleep(50); // the last lines of the pipes
  return { code, out: p.out, err: p.err.filter((l) => l !== "") };
}

/** Nothing was allocated or started: no attachment (not even a released claim) and no TAP. */
async function expectNothingAllocated(): Promise<void> {
  expect(await attachments()).toEqual([]);
  expect(taps()).toBe("");
}

beforeAll(async () => {
  ns = createNetns();
  const r = await vmlan("network", "create", "h", "--subnet", "10.73.0.0/24", "--mode", "host");
  if (r.exitCode !== 0) throw new Error(`network create: ${r.stderr}`);
});
afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
  ns?.delete();
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

describe("helper --socket PATH never deletes or follows what is not its own", () => {
  test("a regular file at PATH is refused and kept, with no PATH.lock left", async () => {
    const path = join(dir, "file.sock");
    writeFileSync(path, "precious\n");
    const r = await helper(["--socket", path, "--id", "f"]);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([`error: --socket "${path}" is a regular file, not a socket; choose another path`]);
    expect(r.out).toEqual([]);
    expect(readFileSync(path, "utf8")).toBe("precious\n");
    expect(existsSync(`${path}.lock`)).toBe(false);
    await expectNothingAllocated();
  });

  test("a directory at PATH is one clear error, and leaves no PATH.lock", async () => {
    const path = join(dir, "dir.sock");
    mkdirSync(path);
    const r = await helper(["--socket", path, "--id", "d"]);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([`error: --socket "${path}" is a directory, not a socket; choose another path`]);
    expect(lstatSync(path).isDirectory()).toBe(true);
    expect(existsSync(`${path}.lock`)).toBe(false);
    await expectNothingAllocated();
  });

  test("a symlink planted at PATH.lock is refused, never followed (its target is not created)", async () => {
    const path = join(dir, "planted.sock");
    const target = join(dir, "victim");
    symlinkSync(target, `${path}.lock`);
    const r = await helper(["--socket", path, "--id", "p"]);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([`error: --socket "${path}": the lock file "${path}.lock" is a symbolic link; refusing to follow it`]);
    expect(existsSync(target)).toBe(false);
    expect(lstatSync(`${path}.lock`).isSymbolicLink()).toBe(true); // not ours to remove either
    expect(existsSync(path)).toBe(false);
    await expectNothingAllocated();
  });

  test("a FIFO planted at PATH.lock is refused at once (opening it cannot hang the helper)", async () => {
    const path = join(dir, "fifo.sock");
    expect(Bun.spawnSync(["mkfifo", `${path}.lock`]).exitCode).toBe(0);
    const r = await helper(["--socket", path, "--id", "q"]);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([`error: --socket "${path}": the lock file "${path}.lock" is a FIFO, not a regular file`]);
    expect(lstatSync(`${path}.lock`).isFIFO()).toBe(true);
    await expectNothingAllocated();
  });

  test("a symlink at PATH itself is refused and kept (it is not a socket)", async () => {
    const path = join(dir, "link.sock");
    const target = join(dir, "link-target");
    writeFileSync(target, "x");
    symlinkSync(target, path);
    const r = await helper(["--socket", path, "--id", "l"]);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([`error: --socket "${path}" is a symbolic link, not a socket; choose another path`]);
    expect(lstatSync(path).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, "utf8")).toBe("x");
    expect(existsSync(`${path}.lock`)).toBe(false);
    await expectNothingAllocated();
  });

  test("another program's live socket at PATH (no lock of ours) is refused and kept", async () => {
    const path = join(dir, "live.sock");
    const fd = libc().socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const sa = new Uint8Array(110);
    sa[0] = AF_UNIX;
    sa.set(new TextEncoder().encode(path), 2);
    expect(libc().bind(fd, sa, sa.length)).toBe(0);
    try {
      const r = await helper(["--socket", path, "--id", "s"]);
      expect(r.code).toBe(4);
      expect(r.err).toEqual([`error: --socket "${path}" is a socket another program is serving; choose another path`]);
      expect(lstatSync(path).isSocket()).toBe(true);
      expect(existsSync(`${path}.lock`)).toBe(false);
      await expectNothingAllocated();
    } finally {
      libc().close(fd);
    }
  });
});

describe("helper --fd N is checked before anything is allocated or announced", () => {
  const cases: Array<[string, () => { fds: number[]; arg: string; close: () => void }, string]> = [
    ["999 (not open)", () => ({ fds: [], arg: "999", close: () => {} }), `error: --fd 999: not an open file descriptor`],
    ["a regular file", () => {
      const f = join(dir, "regular");
      writeFileSync(f, "");
      const fd = openSync(f, "r");
      return { fds: [fd], arg: "3", close: () => closeSync(fd) };
    }, `error: --fd 3: a regular file, not a socket; pass a connected unix datagram socket (one end of a socketpair)`],
    ["/dev/null", () => {
      const fd = openSync("/dev/null", "r+");
      return { fds: [fd], arg: "3", close: () => closeSync(fd) };
    }, `error: --fd 3: a character device, not a socket; pass a connected unix datagram socket (one end of a socketpair)`],
    ["a unix stream socket", () => {
      const sv = new Int32Array(2);
      libc().socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
      return { fds: [sv[1]!], arg: "3", close: () => (libc().close(sv[0]!), libc().close(sv[1]!)) };
    }, `error: --fd 3: a stream socket, not a datagram socket; pass a connected unix datagram socket (one end of a socketpair)`],
    ["an unconnected UDP socket", () => {
      const fd = libc().socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      return { fds: [fd], arg: "3", close: () => libc().close(fd) };
    }, `error: --fd 3: an AF_INET socket, not a unix socket; pass a connected unix datagram socket (one end of a socketpair)`],
    ["an unconnected unix datagram socket", () => {
      const fd = libc().socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      return { fds: [fd], arg: "3", close: () => libc().close(fd) };
    }, `error: --fd 3: the socket is not connected; pass a connected unix datagram socket (one end of a socketpair)`],
  ];
  for (const [what, make, line] of cases) {
    test(`${what}: one line, exit 2, no start line, nothing allocated`, async () => {
      const { fds, arg, close } = make();
      try {
        const r = await helper(["--fd", arg, "--id", "fd-check"], fds);
        expect(r.code).toBe(2);
        expect(r.err).toEqual([line]);
        expect(r.out).toEqual([]);
        await expectNothingAllocated();
      } finally {
        close();
      }
    });
  }
});
