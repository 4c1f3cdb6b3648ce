/**
 * Process identity (src/process/identity.ts): pid + start time from /proc (Linux) and from ps (the
 * macOS way, which procps also answers here). A live process is itself across calls, a zombie and
 * a finished process are gone, and a wrong start time (a reused pid) is not the same process.
 */
import { describe, expect, test } from "bun:test";
import { identityOf, isAlive, procIdentity, psIdentity, selfIdentity } from "../../../src/process/identity.ts";

const linux = process.platform === "linux";

describe("process identity", () => {
  test("this process: the same identity every time, alive", () => {
    const me = selfIdentity();
    expect(me.pid).toBe(process.pid);
    expect(identityOf(process.pid)).toEqual(me);
    expect(isAlive(me)).toBe(true);
    expect(isAlive({ ...me, start: `${me.start}0` })).toBe(false); // same pid, another start: a reused pid
  });

  test("a process that exited, and a pid that does not exist, are gone", async () => {
    const p = Bun.spawn(["true"]);
    await p.exited;
    expect(identityOf(p.pid)).toBeNull();
    expect(identityOf(2 ** 22 + 1)).toBeNull(); // above Linux's pid_max limit
    expect(identityOf(0)).toBeNull();
  });

  test("a zombie is gone: it holds nothing any more", async () => {
    // The inner `sleep 0` exits; its parent (now `sleep 3`, after exec) never reaps it.
    const p = Bun.spawn(["sh", "-c", "sleep 0 & echo $!; exec sleep 3"], { stdout: "pipe" });
    const reader = p.stdout.getReader();
    const zombie = Number(new TextDecoder().decode((await reader.read()).value).trim());
    await Bun.sleep(300);
    if (linux) expect(procIdentity(zombie)).toBeNull();
    expect(psIdentity(zombie)).toBeNull();
    p.kill();
  });

  test("/proc and ps both know a live child, and keep it stable", async () => {
    const p = Bun.spawn(["sleep", "5"]);
    await Bun.sleep(50);
    const viaPs = psIdentity(p.pid);
    expect(viaPs?.pid).toBe(p.pid);
    expect(psIdentity(p.pid)).toEqual(viaPs);
    if (linux) {
      const viaProc = procIdentity(p.pid);
      expect(viaProc?.start).toMatch(/^\d+$/); // clock ticks since boot
      expect(procIdentity(p.pid)).toEqual(viaProc);
    }
    p.kill();
    await p.exited;
    expect(identityOf(p.pid)).toBeNull();
  });
});
