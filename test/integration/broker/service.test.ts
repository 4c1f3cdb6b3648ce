/**
 * `vmlan system install` writes a socket-activated systemd pair; the broker honours the socket
 * systemd would pass (LISTEN_FDS=1, LISTEN_PID, fd 3). systemd itself is not running here, so the
 * activation is done the way systemd does it: a listening socket on fd 3 of an exec'd process.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan, vmlanBin } from "../../support/binary.ts";
import { listenUnix, closeFd } from "../../../src/ipc/unix-stream.ts";
import { createNetns } from "../../support/netns.ts";

const dir = mkdtempSync(join(tmpdir(), "vmlan-svc-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("system install/uninstall write and remove a socket-activated systemd unit pair", async () => {
  const root = join(dir, "root");
  const env = { VMLAN_STATE_DIR: join(dir, "state") };
  const r = await runVmlan(["system", "install", "--root", root, "--bin", "/usr/local/bin/vmlan", "--group", "kvm"], { env });
  expect(r.exitCode).toBe(0);
  const socket = readFileSync(join(root, "etc/systemd/system/vmlan-broker.socket"), "utf8");
  const service = readFileSync(join(root, "etc/systemd/system/vmlan-broker.service"), "utf8");
  expect(socket).toContain(`ListenStream=${join(dir, "state")}/broker.sock`);
  expect(socket).toContain("SocketGroup=kvm");
  expect(service).toContain("ExecStart=/usr/local/bin/vmlan broker --socket");
  expect(service).toContain("--exit-idle 600");
  expect(service).toContain(`Environment=VMLAN_STATE_DIR=${join(dir, "state")}`);
  const u = await runVmlan(["system", "uninstall", "--root", root], { env });
  expect(u.exitCode).toBe(0);
  expect(existsSync(join(root, "etc/systemd/system/vmlan-broker.socket"))).toBe(false);
});

test("the broker serves on a socket passed by the service manager and exits when idle", async () => {
  const ns = createNetns();
  const state = join(dir, "activated");
  const path = join(dir, "activated.sock");
  const listenFd = listenUnix(path);
  try {
    const p = Bun.spawn(["ip", "netns", "exec", ns.name, "sh", "-c", `LISTEN_FDS=1 LISTEN_PID=$$ exec "$0" broker --exit-idle 1`, vmlanBin()], {
      stdio: ["ignore", "pipe", "pipe", listenFd], env: { ...process.env, VMLAN_STATE_DIR: state },
    });
    let ok = false;
    for (let i = 0; i < 100 && !ok; i++) {
      ok = (await runVmlan(["broker", "status", "--socket", path], { env: { VMLAN_STATE_DIR: state }, netns: ns.name })).exitCode === 0;
      if (!ok) await Bun.sleep(50);
    }
    expect(ok).toBe(true);
    expect(await p.exited).toBe(0); // --exit-idle 1: gone a second after its last client
    expect(await new Response(p.stderr).text()).toContain("listening on fd 3 (socket activation)");
  } finally {
    closeFd(listenFd);
    ns.delete();
  }
}, 30_000);
