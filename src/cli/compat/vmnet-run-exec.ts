/**
 * vmnet-run's processes: a datagram socketpair, this binary as `vmnet-helper --fd=3` on one end (its
 * own session, so a terminal's Ctrl-C reaches vmnet-run and the command, and the helper is stopped
 * after the command), the helper's start line passed to stdout, then COMMAND with the other end as
 * fd 4. Either side exiting stops the other (SIGTERM, SIGKILL after 5 s).
 */
import { closeSync } from "node:fs";
import { constants } from "node:os";
import { vmSocketpair } from "../../datapath/vm-socket.ts";
import { selfArgv, statusOf, terminate } from "../../datapath/supervise.ts";
import type { CompatLog } from "./log.ts";

type Proc = ReturnType<typeof Bun.spawn>;

/** Copies the helper's stdout to ours; resolves true at its first full line, false if it ends first or takes too long. */
function passStartLine(p: Proc, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let seen = false;
    const timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref?.();
    void (async () => {
      for await (const chunk of p.stdout as ReadableStream<Uint8Array>) {
        process.stdout.write(chunk);
        if (!seen && chunk.includes(10)) {
          seen = true;
          clearTimeout(timer);
          resolve(true);
        }
      }
      clearTimeout(timer);
      resolve(seen);
    })();
  });
}

export async function runWithHelper(helperArgs: string[], command: string[], log: CompatLog, readyMs: number): Promise<number> {
  const open = new Set<number>(vmSocketpair(helperArgs.includes("--enable-tso"))); // vmnet-run sizes both ends for 64 KiB frames with TSO
  const [vmEnd, helperEnd] = [...open] as [number, number];
  const close = (fd: number) => { if (open.delete(fd)) closeSync(fd); };
  let signal = 0;
  let cmd: Proc | undefined;
  const onSignal = (name: NodeJS.Signals) => {
    signal = constants.signals[name];
    cmd?.kill("SIGTERM");
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  const helper = Bun.spawn([...selfArgv(), ...helperArgs], { argv0: "vmnet-helper", stdio: ["ignore", "pipe", "inherit", helperEnd], detached: true });
  try {
    close(helperEnd);
    log.debug(`started helper (pid ${helper.pid}): vmnet-helper ${helperArgs.join(" ")}`);
    if (!(await passStartLine(helper, readyMs))) {
      log.error(helper.exitCode !== null ? `vmnet-helper exited (status ${helper.exitCode}) before it was ready` : `vmnet-helper printed no start line within ${readyMs / 1000} s`);
      return 1;
    }
    if (signal) return 128 + signal;
    try {
      // fd 3 stays closed in the command, as run.c closes the helper's end there.
      cmd = Bun.spawn(command, { stdio: ["inherit", "inherit", "inherit", null, vmEnd] });
    } catch (e) {
      log.error(`cannot run ${JSON.stringify(command[0])}: ${(e as Error).message}`);
      return 1;
    }
    close(vmEnd);
    log.debug(`started command (pid ${cmd.pid})`);
    const first = await Promise.race([cmd.exited.then(() => "command" as const), helper.exited.then(() => "helper" as const)]);
    if (first === "helper") {
      log.error(`vmnet-helper exited (status ${helper.exitCode}); stopping the command`);
      await terminate(cmd);
    }
    return signal ? 128 + signal : statusOf(cmd);
  } finally {
    if (cmd) await terminate(cmd);
    await terminate(helper);
    for (const fd of [...open]) close(fd);
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}
