/**
 * The plugin's fast path (src/cni/client.ts, serve.ts): with the services daemon of the state dir
 * running, ADD, DEL and CHECK are run by the daemon and answered as a plugin process would answer
 * them (the same result, the same error object and exit code); a call whose paths lead elsewhere
 * for the daemon (CNI_NETNS another file in the plugin's mount namespace) runs in the plugin; with
 * no daemon, or a dead one's socket left behind, the plugin runs the call itself.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { vmlanBin } from "../../support/binary.ts";
import { cniEnv, execPlugin, netnsPath, PluginDir, type CniCall } from "../../support/cni.ts";
import { createNetns, type Netns } from "../../support/netns.ts";
import { type LineProc, vmlanIn } from "../helper/proc.ts";
import { decodeFrame, encodeFrame } from "../../../src/cni/wire.ts";

let host: Netns;
let dir: PluginDir;
let daemon: LineProc | null = null;
const ctrs: Netns[] = [];
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-cni-daemon-"));
const socket = join(stateDir, "cni.sock");
const conf = { cniVersion: "1.0.0", name: "fastc", type: "vmlan", subnet: "10.84.0.0/24", mode: "shared", stateDir };
const DEBUG = { VMLAN_DEBUG: "1" };

function container(): Netns {
  const ns = createNetns();
  ctrs.push(ns);
  return ns;
}

const call = (c: CniCall, body: unknown = conf) => execPlugin(host, dir, "vmlan", body, { ifname: "eth0", ...c, env: { ...DEBUG, ...c.env } });

async function startDaemon(): Promise<void> {
  daemon = vmlanIn(host.name, ["services", "run"], { VMLAN_STATE_DIR: stateDir });
  await daemon.waitFor(/serving plugin calls on /, { stream: "err" });
}

async function stopDaemon(sig: NodeJS.Signals = "SIGTERM"): Promise<void> {
  daemon?.kill(sig);
  await daemon?.exited();
  daemon = null;
}

beforeAll(async () => {
  host = createNetns();
  dir = new PluginDir();
  // The network, made by an ADD in process (no daemon yet), then the daemon as `system start` runs it.
  const first = container();
  const made = await call({ command: "ADD", containerId: "fast-0", netns: netnsPath(first) });
  expect(made.code).toBe(0);
  expect(made.stderr).toContain("no services daemon answered");
  await startDaemon();
});
afterAll(async () => {
  await stopDaemon();
  for (const ns of ctrs) ns.delete();
  host?.delete();
  dir?.remove();
  rmSync(stateDir, { recursive: true, force: true });
});

describe("the services daemon runs the plugin's calls", () => {
  test("ADD, CHECK and DEL through the daemon: a working container, the same lease as in process", async () => {
    const ns = container();
    const add = await call({ command: "ADD", containerId: "fast-1", netns: netnsPath(ns) });
    expect([add.code, add.stderr.trim()]).toEqual([0, "vmlan: served by the services daemon"]);
    const ip = (add.json!.ips as { address: string }[])[0]!.address;
    expect(ns.sh(["ip", "-br", "addr", "show", "eth0"])).toContain(ip);
    expect(ns.run(["ping", "-c", "1", "-W", "2", "10.84.0.1"]).code).toBe(0);
    const check = await call({ command: "CHECK", containerId: "fast-1", netns: netnsPath(ns) }, { ...conf, prevResult: add.json });
    expect([check.code, check.stdout, check.stderr.trim()]).toEqual([0, "", "vmlan: served by the services daemon"]);
    const del = await call({ command: "DEL", containerId: "fast-1", netns: netnsPath(ns) });
    expect([del.code, del.stdout]).toEqual([0, ""]);
    expect(host.run(["ip", "link", "show", "dev", (add.json!.interfaces as { name: string }[])[0]!.name]).code).not.toBe(0);
    // The same container again, in process this time: sticky, the same address and MAC.
    const again = await call({ command: "ADD", containerId: "fast-1", netns: netnsPath(ns), env: { VMLAN_CNI_IN_PROCESS: "1" } });
    expect(again.code).toBe(0);
    expect(again.stderr).not.toContain("served by");
    expect(again.json!.ips).toEqual(add.json!.ips);
    expect(again.json!.interfaces).toEqual(add.json!.interfaces);
    expect((await call({ command: "DEL", containerId: "fast-1", netns: netnsPath(ns) })).code).toBe(0);
  });

  test("errors come back as the plugin's own: the same object and exit code", async () => {
    const bad = { ...conf, name: "nosuch", subnet: undefined, mode: undefined };
    const ns = container();
    const there = await call({ command: "ADD", containerId: "fast-bad", netns: netnsPath(ns) }, bad);
    const here = await call({ command: "ADD", containerId: "fast-bad", netns: netnsPath(ns), env: { VMLAN_CNI_IN_PROCESS: "1" } }, bad);
    expect(there.stderr).toContain("served by the services daemon");
    expect([there.code, there.json]).toEqual([1, here.json]);
    expect(there.json!.code).toBe(7);
  });

  test("20 ADDs at once through the daemon get 20 distinct addresses", async () => {
    const nss = Array.from({ length: 20 }, container);
    const rs = await Promise.all(nss.map((ns, i) => call({ command: "ADD", containerId: `fast-c${i}`, netns: netnsPath(ns) })));
    expect(rs.filter((r) => r.code !== 0 || !r.stderr.includes("served by"))).toEqual([]);
    expect(new Set(rs.map((r) => (r.json!.ips as { address: string }[])[0]!.address)).size).toBe(20);
    const ds = await Promise.all(nss.map((ns, i) => call({ command: "DEL", containerId: `fast-c${i}`, netns: netnsPath(ns) })));
    expect(ds.map((r) => r.code)).toEqual(ds.map(() => 0));
  }, 60_000);

  test("the config on a pipe, written in two parts as a runtime may (Go's exec does pipes): served, the same result", async () => {
    // The other tests pass a buffer, which Bun.spawn gives the plugin as a file (cni/client.ts maps those).
    const ns = container();
    const env = cniEnv(dir, { command: "ADD", containerId: "fast-pipe", netns: netnsPath(ns), ifname: "eth0", env: DEBUG });
    const p = Bun.spawn(["ip", "netns", "exec", host.name, dir.bin("vmlan")], { env, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    const text = JSON.stringify(conf);
    p.stdin.write(text.slice(0, 20));
    await p.stdin.flush();
    await Bun.sleep(100);
    p.stdin.write(text.slice(20));
    await p.stdin.end();
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect([code, err.trim()]).toEqual([0, "vmlan: served by the services daemon"]);
    const ip = (JSON.parse(out).ips as { address: string }[])[0]!.address;
    expect(ns.sh(["ip", "-br", "addr", "show", "eth0"])).toContain(ip);
    expect((await call({ command: "DEL", containerId: "fast-pipe", netns: netnsPath(ns) })).code).toBe(0);
  });

  test("a CNI_NETNS that is another file in the plugin's mount namespace: the plugin runs the call", async () => {
    const meant = container();
    const decoy = container();
    // The plugin's own mount namespace sees `meant` in place of `decoy`'s path; the daemon sees the real one.
    const env = cniEnv(dir, { command: "ADD", containerId: "fast-mnt", netns: netnsPath(decoy), ifname: "eth0", env: DEBUG });
    const script = `mount --bind ${netnsPath(meant)} ${netnsPath(decoy)} && exec ip netns exec ${host.name} ${vmlanBin()}`;
    const p = Bun.spawn(["unshare", "-m", "--propagation", "private", "sh", "-c", script], { env, stdin: new TextEncoder().encode(JSON.stringify(conf)), stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect([code, err.trim()]).toEqual([0, "vmlan: running here: CNI_NETNS is another file here"]);
    const ip = (JSON.parse(out).ips as { address: string }[])[0]!.address;
    expect(meant.sh(["ip", "-br", "addr", "show", "eth0"])).toContain(ip); // where the plugin's path leads
    expect(decoy.run(["ip", "link", "show", "eth0"]).code).not.toBe(0);
    expect((await call({ command: "DEL", containerId: "fast-mnt", netns: netnsPath(meant) })).code).toBe(0);
  });

  /** One request over the daemon's socket, as a plugin would send it; its reply. */
  const ask = (req: unknown) => new Promise<unknown>((resolve, reject) => {
    let got = new Uint8Array(0);
    void Bun.connect({ unix: socket, socket: {
      open: (s) => void s.write(encodeFrame(req)),
      data: (s, d) => {
        got = new Uint8Array([...got, ...d]);
        const r = decodeFrame(got);
        if (r) resolve(r), s.end();
      },
      error: (_s, e) => reject(e),
    } });
  });

  test("a malformed request is declined, nothing is done, and the daemon goes on serving", async () => {
    const veths = () => host.sh(["ip", "-br", "link"]).split("\n").filter((l) => l.startsWith("vlc")).length;
    const before = veths();
    const good = { env: { CNI_COMMAND: "ADD", CNI_CONTAINERID: "fast-bad", CNI_NETNS: netnsPath(container()), CNI_IFNAME: "eth0" }, stdin: JSON.stringify(conf), stateDir, pid: process.pid };
    for (const bad of [{ ...good, pid: -1 }, { ...good, pid: 1.5 }, { ...good, env: { CNI_COMMAND: 7 } }, { ...good, stdin: undefined }, [], "ADD"]) {
      expect(await ask(bad)).toEqual({ fallback: "malformed request" });
    }
    expect(veths()).toBe(before);
    const ns = container();
    expect((await call({ command: "ADD", containerId: "fast-after-bad", netns: netnsPath(ns) })).code).toBe(0);
    expect((await call({ command: "DEL", containerId: "fast-after-bad", netns: netnsPath(ns) })).code).toBe(0);
  });

  test("a request that names a process other than its caller is declined, nothing is done", async () => {
    // This test process is not a plugin: its environment has no such CNI_CONTAINERID.
    const veths = () => host.sh(["ip", "-br", "link"]).split("\n").filter((l) => l.startsWith("vlc")).length;
    const before = veths();
    const req = { env: { CNI_COMMAND: "ADD", CNI_CONTAINERID: "fast-forged", CNI_NETNS: netnsPath(container()), CNI_IFNAME: "eth0" }, stdin: JSON.stringify(conf), stateDir, pid: process.pid };
    const reply = await ask(req);
    expect(reply).toEqual({ fallback: `process ${process.pid} is not the plugin that called` });
    expect(veths()).toBe(before); // no veth was made for it
  });

  test("a daemon that died leaves its socket: the plugin runs the call, and the next daemon takes the socket over", async () => {
    await stopDaemon("SIGKILL");
    expect(existsSync(socket)).toBe(true);
    const ns = container();
    const add = await call({ command: "ADD", containerId: "fast-dead", netns: netnsPath(ns) });
    expect([add.code, add.stderr.trim()]).toEqual([0, "vmlan: running here: no services daemon answered"]);
    await startDaemon();
    const del = await call({ command: "DEL", containerId: "fast-dead", netns: netnsPath(ns) });
    expect([del.code, del.stderr.trim()]).toEqual([0, "vmlan: served by the services daemon"]);
    await stopDaemon();
    expect(existsSync(socket)).toBe(false); // removed on a clean stop
    await startDaemon();
  });
});
