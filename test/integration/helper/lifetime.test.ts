/**
 * The VM side never outlives its supervisor (issue #12 item 11): a SIGKILLed `vmlan run` (helper
 * or --native) or foreground `vm run` takes its command down with it, and what it held is released
 * as an orphan. Also the mechanism itself: `vmlan _child --pdeathsig` follows the thread that
 * spawned it (the supervisors spawn from their main thread, which lives as long as they do), and the
 * macOS watcher (`_child --watch`, run here on Linux) stops the command when its supervisor dies.
 * QEMU is a shim on PATH that execs `sleep`, so no guest boots.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan, vmlanBin } from "../../support/binary.ts";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";
import { LineProc, vmlanIn } from "./proc.ts";

const SPAWNER = join(import.meta.dir, "..", "..", "support", "child-spawner.ts");
let ns: Netns;
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-lifetime-"));
const binDir = mkdtempSync(join(tmpdir(), "vmlan-lifetime-bin-"));
const env = { VMLAN_STATE_DIR: stateDir, PATH: `${binDir}:${process.env.PATH}` };
const procs: LineProc[] = [];
const vmlan = (...args: string[]) => runVmlan(args, { env, netns: ns.name });
const active = async (): Promise<unknown[]> => JSON.parse((await vmlan("attachments", "--format", "json")).stdout);

/** Running: the pid exists and is not a zombie (this machine's init reaps orphaned zombies late). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0]!);
  } catch {
    return false;
  }
}
async function gone(pid: number, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (running(pid) && Date.now() < end) await Bun.sleep(50);
  return !running(pid);
}
const children = (pid: number) => readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);

beforeAll(async () => {
  ns = createNetns();
  // A "QEMU" that reports its pid and sleeps: the same process (exec) as far as vm run can tell.
  writeFileSync(join(binDir, "qemu-system-x86_64"), `#!/bin/sh\necho "fake-qemu $$" >&2\nexec sleep 1000\n`);
  chmodSync(join(binDir, "qemu-system-x86_64"), 0o755);
  writeFileSync(join(binDir, "vmlinuz"), "");
  const r = await vmlan("network", "create", "l", "--subnet", "10.76.0.0/24", "--mode", "host");
  if (r.exitCode !== 0) throw new Error(`network create: ${r.stderr}`);
});
afterAll(async () => {
  for (const p of procs) p.kill("SIGKILL");
  await vmlan("system", "stop");
  ns?.delete();
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(binDir, { recursive: true, force: true });
});

function start(args: string[]): LineProc {
  const p = vmlanIn(ns.name, args, env);
  procs.push(p);
  return p;
}

describe("a SIGKILLed supervisor takes its VM command down", () => {
  for (const native of [false, true]) {
    test(`vmlan run${native ? " --native" : ""}: the command dies, and what it held is released`, async () => {
      const p = start(["run", ...(native ? ["--native"] : []), "--network", "l", "--id", `k-${native}`, "--", "sh", "-c", "echo cmd $$; exec sleep 1000"]);
      const pid = Number((await p.waitFor(/^cmd \d+/, { timeoutMs: 20_000 })).split(" ")[1]);
      expect(running(pid)).toBe(true);
      await Bun.sleep(1000); // the command keeps running while its supervisor does
      expect(running(pid)).toBe(true);
      p.kill("SIGKILL");
      await p.exited();
      expect(await gone(pid)).toBe(true);
      // --native: the run process owned the lease (released as an orphan); helper mode: the helper
      // sees itself orphaned within 500 ms and releases it itself.
      await vmlan("system", "start");
      const end = Date.now() + 5000;
      while ((await active()).length > 0 && Date.now() < end) await Bun.sleep(200);
      expect(await active()).toEqual([]);
    });
  }

  test("vm run (foreground): QEMU dies with it", async () => {
    const p = start(["vm", "run", "--network", "l", "--name", "fg", "--kernel", join(binDir, "vmlinuz"), "--console", join(stateDir, "fg.log")]);
    const pid = Number((await p.waitFor(/^fake-qemu \d+/, { stream: "err", timeoutMs: 20_000 })).split(" ")[1]);
    await Bun.sleep(500);
    expect(running(pid)).toBe(true);
    p.kill("SIGKILL");
    await p.exited();
    expect(await gone(pid)).toBe(true);
    await vmlan("system", "start");
    expect(await active()).toEqual([]);
  });
});

describe("vmlan _child", () => {
  const spawner = (mode: string) => {
    const p = new LineProc([BUN, SPAWNER, "--vmlan", vmlanBin(), "--mode", mode], {});
    procs.push(p);
    return p;
  };
  const childPid = async (p: LineProc) => Number((await p.waitFor(/^child \d+/)).split(" ")[1]);

  test("--pdeathsig: spawned from the main thread it survives Workers ending, and dies with its parent", async () => {
    const p = spawner("main");
    const pid = await childPid(p);
    await p.waitFor(/^churned/, { timeoutMs: 10_000 });
    expect(running(pid)).toBe(true);
    expect(readFileSync(`/proc/${pid}/comm`, "utf8").trim()).toBe("sleep"); // exec'd: same pid, the command itself
    p.kill("SIGKILL");
    expect(await gone(pid)).toBe(true);
  });

  test("--pdeathsig follows the thread that forked: spawned from a Worker, it dies when that Worker ends", async () => {
    const p = spawner("worker");
    const pid = await childPid(p);
    await Bun.sleep(500);
    expect(running(pid)).toBe(true);
    await p.waitFor(/^worker ended/, { timeoutMs: 10_000 });
    expect(await gone(pid)).toBe(true);
    expect(p.proc.exitCode).toBeNull(); // its process still runs: only the thread ended
  });

  test("--pdeathsig --fds N: the command gets fds 3 .. 3+N-1 (Bun marks fds from 4 on close-on-exec at start)", async () => {
    const files = ["a", "b", "c"].map((n) => { const f = join(binDir, `fd-${n}`); writeFileSync(f, n); return f; });
    const fds = files.map((f) => openSync(f, "r"));
    try {
      const p = Bun.spawn([vmlanBin(), "_child", "--pdeathsig", String(process.pid), "--fds", "3", "--", "/bin/sh", "sh", "-c", "cat <&3; cat <&4; cat <&5; echo; ls /proc/self/fd | sort -n | tr '\\n' ' '"], {
        stdio: ["ignore", "pipe", "pipe", ...fds],
      });
      const out = await new Response(p.stdout).text();
      expect(await p.exited).toBe(0);
      expect(out.split("\n")[0]).toBe("abc");
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  });

  test("--watch (the macOS watcher): when the supervisor dies, the command gets SIGTERM", async () => {
    const p = spawner("watch");
    const watcher = await childPid(p);
    let sleepPid = 0;
    for (let i = 0; i < 50 && !sleepPid; i++) {
      sleepPid = children(watcher)[0] ?? 0;
      await Bun.sleep(50);
    }
    expect(sleepPid).toBeGreaterThan(0);
    p.kill("SIGKILL");
    expect(await gone(sleepPid)).toBe(true);
    expect(await gone(watcher)).toBe(true);
  });
});
