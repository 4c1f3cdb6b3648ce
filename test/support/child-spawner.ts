/**
 * A stand-in supervisor for test/integration/helper/lifetime.test.ts: starts `vmlan _child` the way
 * `vmlan run` does and stays alive until killed, so the test can SIGKILL it and watch the child.
 *   bun test/support/child-spawner.ts --vmlan BIN --mode main|worker|watch
 * main:   spawn from the main thread, then start and end Workers for a while ("churned").
 * worker: spawn from a Worker, then end that Worker ("worker ended"): the kernel's parent-death
 *         signal follows the thread that forked, so the child dies with the Worker.
 * watch:  `_child --watch 3` with one end of a socketpair as fd 3 (the macOS watcher, run here).
 * stdout: "child <pid>" first.
 */
import { parseArgs } from "node:util";
import { libc } from "../../ffi/libc/load.ts";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_STREAM } from "../../ffi/libc/constants.ts";

const { values: o } = parseArgs({ options: { vmlan: { type: "string" }, mode: { type: "string" } } });
const argvFor = (parent: number) => [o.vmlan!, "_child", "--pdeathsig", String(parent), "--fds", "0", "--", "/bin/sleep", "sleep", "1000"];

if (o.mode === "main") {
  const p = Bun.spawn(argvFor(process.pid), { stdio: ["ignore", "inherit", "inherit"] });
  console.log(`child ${p.pid}`);
  for (let i = 0; i < 5; i++) {
    const w = new Worker(`data:text/javascript,${encodeURIComponent("setTimeout(() => {}, 50);")}`);
    await Bun.sleep(200);
    w.terminate();
  }
  console.log("churned");
} else if (o.mode === "worker") {
  const src = `const p = Bun.spawn(${JSON.stringify(argvFor(process.pid))}, { stdio: ["ignore", "inherit", "inherit"] }); postMessage(p.pid);`;
  const w = new Worker(`data:text/javascript,${encodeURIComponent(src)}`);
  const pid = await new Promise<number>((r) => { w.onmessage = (e) => r(e.data as number); });
  console.log(`child ${pid}`);
  await Bun.sleep(1500); // long enough for the child to have made its prctl
  w.terminate();
  console.log("worker ended");
} else if (o.mode === "watch") {
  const sv = new Int32Array(2);
  libc().socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
  const p = Bun.spawn([o.vmlan!, "_child", "--watch", "3", "--", "/bin/sleep", "sleep", "1000"], { stdio: ["ignore", "inherit", "inherit", sv[1]!] });
  libc().close(sv[1]!);
  console.log(`child ${p.pid}`);
} else throw new Error("--mode main|worker|watch");
setInterval(() => {}, 1000);
