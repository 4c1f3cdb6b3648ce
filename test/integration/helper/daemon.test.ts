/**
 * `vmlan helper` through the services daemon (src/cli/helper-service/): with the daemon of the state
 * dir running, a plain helper gets its lease and its guarded TAP from it, prints the same start line
 * as in process, is recorded as its attachment's owner, and loads no store; the connection is the
 * hold (kill -9 releases the lease and the port's rules, --keep keeps the lease); errors read as in
 * process; a malformed request does not hurt the daemon; a daemon that takes the connection but never
 * answers (hung, stopped) costs a helper TAKEN_MS, then it does it in process; the port's rules go in
 * after the reply, and the helper writes no frame to the TAP before the daemon says they are in. No
 * daemon: in process (the other helper tests).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan, vmlanBin } from "../../support/binary.ts";
import { createNetns, type Netns } from "../../support/netns.ts";
import { guardObjects } from "../../support/guard-rules.ts";
import { acceptUnix, connectUnix, closeFd, listenUnix, recvWithFd, sendWithFd } from "../../../src/ipc/unix-stream.ts";
import { TAKEN_MS } from "../../../src/cli/helper-service/client.ts";
import { encodeFrame, gatherFrame } from "../../../src/cni/wire.ts";
import { vmSocketpair } from "../../../src/datapath/vm-socket.ts";
import { HELPER_WIRE_VERSION, TAKE_MARGIN_MS } from "../../../src/cli/helper-service/wire.ts";
import { LineProc, vmlanIn } from "./proc.ts";

let ns: Netns;
let daemon: LineProc;
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-helperd-"));
const sockDir = mkdtempSync(join(tmpdir(), "vmlan-helperd-sock-"));
const env = { VMLAN_STATE_DIR: stateDir };
const IN_PROCESS = { ...env, VMLAN_HELPER_IN_PROCESS: "1" };
const procs: LineProc[] = [];
const vmlan = (...args: string[]) => runVmlan(args, { env, netns: ns.name });
const attachments = async (): Promise<Array<Record<string, unknown>>> => JSON.parse((await vmlan("attachments", "--format", "json")).stdout);
const FROM_DAEMON = /port vlt\d+ from the services daemon/;

function helper(e: Record<string, string>, ...args: string[]): LineProc {
  const p = vmlanIn(ns.name, ["helper", "-v", ...args], e);
  procs.push(p);
  return p;
}
const startLine = async (p: LineProc) => JSON.parse(await p.waitFor(/^\{/)) as Record<string, unknown>;
/** The port's chain in the anti-spoofing table (named by the TAP's ifindex). */
const portChain = (l: Record<string, unknown>) => `port_vl-d_${ns.sh(["cat", `/sys/class/net/${l.vmlan_tap}/ifindex`]).trim()}`;
const withoutTap = (l: Record<string, unknown>) => ({ ...l, vmlan_tap: "-" });

async function until(what: () => boolean | Promise<boolean>, ms = 6000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await what()) return true;
    await Bun.sleep(100);
  }
  return what();
}

beforeAll(async () => {
  ns = createNetns();
  const r = await vmlan("network", "create", "d", "--subnet", "10.86.0.0/24", "--subnet-v6", "fd86::/64", "--mode", "host", "--mtu", "1500");
  if (r.exitCode !== 0) throw new Error(`network create: ${r.stderr}`);
  daemon = vmlanIn(ns.name, ["services", "run"], env);
  procs.push(daemon);
  await daemon.waitFor(/serving helpers' ports on /, { stream: "err" });
});
afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
  ns?.delete();
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(sockDir, { recursive: true, force: true });
});

describe("vmlan helper through the services daemon", () => {
  test("the same start line and lease as in process, owned by the helper, and no store open in it", async () => {
    expect(statSync(join(stateDir, "helper.sock")).mode & 0o777).toBe(0o600);
    for (const tso of [[], ["--enable-tso"]]) {
      const sock = join(sockDir, `same${tso.length}.sock`);
      const h = helper(env, "--network", "d", "--id", `same-${tso.length}`, "--socket", sock, ...tso);
      const line = await startLine(h);
      expect(h.err.join("\n")).toMatch(FROM_DAEMON);
      const [att] = (await attachments()).filter((a) => a.id === `same-${tso.length}`);
      expect(att).toMatchObject({ network: "d", state: "active", address: line.vmlan_address, mac: line.vmnet_mac_address });
      // Owned by the helper, not the daemon: another helper for the id is refused, naming the helper's pid.
      const second = helper(IN_PROCESS, "--network", "d", "--id", `same-${tso.length}`, "--socket", join(sockDir, "second.sock"));
      expect(await second.exited()).toBe(4);
      expect(second.err.join("\n")).toContain(`is in use by pid ${h.proc.pid}`);
      const open = readdirSync(`/proc/${h.proc.pid}/fd`).map((fd) => { try { return readlinkSync(`/proc/${h.proc.pid}/fd/${fd}`); } catch { return ""; } });
      expect(open.filter((f) => f.startsWith(stateDir) || f.includes("vmlan.db"))).toEqual([]);
      expect(open).toContain("/dev/net/tun");
      h.kill("SIGTERM");
      expect(await h.exited()).toBe(0);
      expect(await until(async () => !(await attachments()).some((a) => a.id === `same-${tso.length}`))).toBe(true);
      // In process, for the same inputs: the same line, but for the TAP's name.
      const again = helper(IN_PROCESS, "--network", "d", "--id", `same-${tso.length}`, "--socket", sock, ...tso);
      const here = await startLine(again);
      expect(again.err.join("\n")).not.toMatch(FROM_DAEMON);
      expect(withoutTap(here)).toEqual(withoutTap(line));
      again.kill("SIGTERM");
      expect(await again.exited()).toBe(0);
    }
  });

  test("the binary started as vmnet-helper is served too: vmnet-helper's log lines, its start line, owned by it, no store open in it", async () => {
    const bin = join(sockDir, "bin");
    mkdirSync(bin, { recursive: true });
    symlinkSync(vmlanBin(), join(bin, "vmnet-helper"));
    const id = "9e4b3c2a-5d6f-4a1b-8c7d-0e1f2a3b4c5d";
    const run = (e: Record<string, string>, sock: string) => {
      const p = new LineProc(["ip", "netns", "exec", ns.name, join(bin, "vmnet-helper"), "--socket", join(sockDir, sock), "--network", "d", "--interface-id", id, "-v"], e);
      procs.push(p);
      return p;
    };
    const h = run(env, "vh.sock");
    const line = await startLine(h);
    const err = h.err.join("\n");
    expect(err).toMatch(/^DEBUG \[main\] port vlt\d+ from the services daemon$/m);
    // What vmnet-helper's log says in process, in its format: the network the helper uses.
    expect(err).toContain(`INFO  [main] network "d": host, 10.86.0.0/24, gateway 10.86.0.1`);
    expect(line).toMatchObject({ vmnet_interface_id: id.toUpperCase(), vmlan_network: "d" }); // as vmnet prints it
    const ours = (a: Record<string, unknown>) => String(a.id).toLowerCase() === id;
    const [att] = (await attachments()).filter(ours);
    expect(att).toMatchObject({ state: "active", address: line.vmlan_address, mac: line.vmnet_mac_address });
    const open = readdirSync(`/proc/${h.proc.pid}/fd`).map((fd) => { try { return readlinkSync(`/proc/${h.proc.pid}/fd/${fd}`); } catch { return ""; } });
    expect(open.filter((f) => f.startsWith(stateDir) || f.includes("vmlan.db"))).toEqual([]);
    h.kill("SIGTERM");
    expect(await h.exited()).toBe(0);
    expect(await until(async () => !(await attachments()).some(ours))).toBe(true);
    // In process, for the same inputs: the same line (but for the TAP's name) and the same network line.
    const again = run(IN_PROCESS, "vh2.sock");
    expect(withoutTap(await startLine(again))).toEqual(withoutTap(line));
    expect(again.err.join("\n")).not.toMatch(FROM_DAEMON);
    expect(again.err.join("\n")).toContain(`INFO  [main] network "d": host, 10.86.0.0/24, gateway 10.86.0.1`);
    again.kill("SIGTERM");
    expect(await again.exited()).toBe(0);
    // A refusal reads as vmnet-helper's: one ERROR line, exit 1 (the daemon's error, as in process).
    const bad = new LineProc(["ip", "netns", "exec", ns.name, join(bin, "vmnet-helper"), "--socket", join(sockDir, "vh3.sock"), "--network", "no-such-net"], env);
    procs.push(bad);
    expect(await bad.exited()).toBe(1);
    expect(bad.err.filter((l) => l.startsWith("ERROR"))).toEqual([`ERROR [main] no network named "no-such-net"`]);
  });

  test("kill -9 of the helper releases its lease and removes its port's rules; --keep keeps the lease", async () => {
    const h = helper(env, "--network", "d", "--id", "killed", "--socket", join(sockDir, "killed.sock"));
    const port = portChain(await startLine(h));
    expect(guardObjects(ns, "vl-d").ports).toContain(port);
    h.kill("SIGKILL");
    await h.exited();
    expect(await until(async () => !(await attachments()).some((a) => a.id === "killed"))).toBe(true);
    expect(await until(() => !guardObjects(ns, "vl-d").ports.includes(port))).toBe(true);

    const k = helper(env, "--network", "d", "--id", "kept", "--keep", "--socket", join(sockDir, "kept.sock"));
    const kept = await startLine(k);
    const keptPort = portChain(kept);
    k.kill("SIGKILL");
    await k.exited();
    expect(await until(() => !guardObjects(ns, "vl-d").ports.includes(keptPort))).toBe(true);
    expect((await attachments()).filter((a) => a.id === "kept").map((a) => a.address)).toEqual([kept.vmlan_address]);
  });

  test("errors read as in process: the same line and exit code", async () => {
    // A network that is down: stored, its bridge gone.
    expect((await vmlan("network", "create", "down", "--subnet", "10.87.0.0/24", "--mode", "host")).exitCode).toBe(0);
    ns.sh(["ip", "link", "del", "vl-down"]);
    const cases = [
      ["--network", "down", "--id", "e0", "--socket", join(sockDir, "e0.sock")],
      ["--network", "nosuch", "--id", "e1", "--socket", join(sockDir, "e1.sock")],
      ["--network", "d", "--id", "e2", "--mac", "01:00:5e:00:00:01", "--socket", join(sockDir, "e2.sock")],
    ];
    for (const args of cases) {
      const viaDaemon = helper(env, ...args);
      const code = await viaDaemon.exited();
      const here = helper(IN_PROCESS, ...args);
      expect(code).not.toBe(0);
      expect([code, viaDaemon.err.filter((l) => l.startsWith("error:"))]).toEqual([await here.exited(), here.err.filter((l) => l.startsWith("error:"))]);
      expect(viaDaemon.err.filter((l) => l.startsWith("error:")).length).toBe(1);
    }
  });

  test("a malformed request is answered or hung up on, and the daemon goes on serving helpers", async () => {
    const path = join(stateDir, "helper.sock");
    const garbage = [new Uint8Array([0, 0, 0, 3, 123, 125, 125]), new Uint8Array([0xff, 0xff, 0xff, 0xff]), new TextEncoder().encode("\0\0\0\x02{}")];
    for (const g of garbage) {
      const fd = connectUnix(path);
      sendWithFd(fd, g);
      const buf = new Uint8Array(4096);
      const got = recvWithFd(fd, buf, false);
      if (got.n > 0) expect(new TextDecoder().decode(buf.subarray(4, got.n))).toContain("invalid helper request");
      expect(got.fd).toBe(null);
      closeFd(fd);
    }
    const h = helper(env, "--network", "d", "--id", "after", "--socket", join(sockDir, "after.sock"));
    await startLine(h);
    expect(h.err.join("\n")).toMatch(FROM_DAEMON);
    expect(daemon.proc.exitCode).toBe(null);
    h.kill("SIGTERM");
    await h.exited();
  });

  test("a request the daemon gets to within TAKE_MARGIN_MS of the helper's takeBy: sent back, and nothing is made for it", async () => {
    // As a helper about to give up (and attach the same id itself) would send it; from the daemon's namespace.
    const req = { v: HELPER_WIRE_VERSION, interfaceId: "late", network: "d", keep: false, isolation: false, tso: false, checksumOffload: false, socket: null, style: "vmlan", takeBy: Date.now() + TAKE_MARGIN_MS / 2 };
    const taps = () => ns.sh(["ip", "-o", "link", "show", "type", "tun"]);
    const before = taps();
    const r = ns.run([process.execPath, join(import.meta.dir, "../../support/helper-request.ts"), join(stateDir, "helper.sock"), JSON.stringify(req)]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([{ fallback: "the services daemon got to the request too late" }]); // no `taken` first
    expect((await attachments()).filter((a) => a.id === "late")).toEqual([]);
    expect(taps()).toBe(before);
  });

  test("the rules go in after the reply: the helper prints its line, writes no frame to the TAP until the daemon says they are in, and a failure to install them is its error", async () => {
    // A daemon of the test's own that answers with a datagram pair as the "TAP", then says `guarded` when the test wants.
    const fakeDir = mkdtempSync(join(tmpdir(), "vmlan-helperd-fake-"));
    const listening = listenUnix(join(fakeDir, "helper.sock"));
    const fds: number[] = [listening];
    const buf = new Uint8Array(65536);
    const nextConn = async () => {
      for (let i = 0; i < 200; i++) {
        const fd = acceptUnix(listening);
        if (fd >= 0) return fds.push(fd), fd;
        await Bun.sleep(25);
      }
      throw new Error("no helper connected");
    };
    const request = async (fd: number) => {
      const sofar = { buf: new Uint8Array(0) };
      for (let i = 0; i < 200; i++) {
        const got = recvWithFd(fd, buf, true);
        const req = got.n > 0 ? gatherFrame<{ interfaceId: string }>(sofar, buf.subarray(0, got.n)) : null;
        if (req) return req;
        await Bun.sleep(25);
      }
      throw new Error("no request");
    };
    /** What reached the "TAP" from the helper within `ms`. */
    const reached = async (tapPeer: number, ms: number) => {
      const end = Date.now() + ms;
      for (;;) {
        const got = recvWithFd(tapPeer, buf, true);
        if (got.n > 0) return buf.slice(0, got.n);
        if (Date.now() > end) return null;
        await Bun.sleep(20);
      }
    };
    const frame = new Uint8Array(60).fill(0xab);
    frame.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0xfa, 1, 0x08, 0x00]);
    try {
      for (const outcome of ["guarded", "refused"] as const) {
        const [vmEnd, helperEnd] = vmSocketpair();
        const [tapEnd, tapPeer] = vmSocketpair();
        fds.push(vmEnd, tapPeer);
        const h = vmlanIn(ns.name, ["helper", "-v", "--network", "fake", "--id", `fake-${outcome}`, "--fd", "3"], { VMLAN_STATE_DIR: fakeDir }, [helperEnd]);
        procs.push(h);
        closeFd(helperEnd);
        const conn = await nextConn();
        const req = await request(conn);
        expect(req.interfaceId).toBe(`fake-${outcome}`);
        const lease = { id: req.interfaceId, network: "fake", mac: "02:00:00:00:fa:01", address: "10.99.0.2", prefixLength: 24, gateway: "10.99.0.1", hostname: "fake", mtu: 1500 };
        sendWithFd(conn, encodeFrame({ taken: true }));
        sendWithFd(conn, encodeFrame({ ok: true, lease, port: { ifname: "fake0" }, notes: [] }), tapEnd);
        closeFd(tapEnd);
        const line = await startLine(h);
        expect(line.vmlan_address).toBe("10.99.0.2");
        expect(h.err.join("\n")).toContain("port fake0 from the services daemon");
        sendWithFd(vmEnd, frame); // the VM's first frame: it waits in the socket until the rules are in
        expect(await reached(tapPeer, 400)).toBe(null);
        if (outcome === "guarded") {
          sendWithFd(conn, encodeFrame({ guarded: true }));
          expect(await reached(tapPeer, 5000)).toEqual(frame);
          h.kill("SIGTERM");
          expect(await h.exited()).toBe(0);
        } else {
          sendWithFd(conn, encodeFrame({ guarded: false, error: { message: "cannot install the rules of port fake0: no table", code: "EHOST", exitCode: 6 } }));
          expect(await h.exited()).toBe(6);
          expect(h.err.filter((l) => l.startsWith("error:"))).toEqual(["error: cannot install the rules of port fake0: no table"]);
          expect(await reached(tapPeer, 100)).toBe(null);
        }
      }
    } finally {
      for (const fd of fds) closeFd(fd);
      rmSync(fakeDir, { recursive: true, force: true });
    }
  }, 30_000);

  test("a daemon that takes the connection and never answers: the helper starts in process after TAKEN_MS, not 30 s", async () => {
    // Its own state dir, where helper.sock is a socket that is listened on and accepted, and never answered.
    const hungDir = mkdtempSync(join(tmpdir(), "vmlan-helperd-hung-"));
    const hungEnv = { VMLAN_STATE_DIR: hungDir };
    try {
      expect((await runVmlan(["network", "create", "hung", "--subnet", "10.88.0.0/24", "--mode", "host"], { env: hungEnv, netns: ns.name })).exitCode).toBe(0);
      const listening = listenUnix(join(hungDir, "helper.sock"));
      const accepted: number[] = [];
      const acceptor = setInterval(() => { for (let fd = acceptUnix(listening); fd >= 0; fd = acceptUnix(listening)) accepted.push(fd); }, 50);
      try {
        const started = Date.now();
        const h = helper(hungEnv, "--network", "hung", "--id", "hung", "--socket", join(sockDir, "hung.sock"));
        const line = await startLine(h); // waits up to 10 s: the old 30 s wait fails here
        const waited = Date.now() - started;
        expect(accepted.length).toBe(1); // it did ask the daemon first
        expect(h.err.join("\n")).toContain("in process: the services daemon did not answer");
        expect(waited).toBeGreaterThanOrEqual(TAKEN_MS);
        const att = JSON.parse((await runVmlan(["attachments", "--format", "json"], { env: hungEnv, netns: ns.name })).stdout) as Array<Record<string, unknown>>;
        expect(att).toMatchObject([{ network: "hung", id: "hung", state: "active", address: line.vmlan_address }]);
        h.kill("SIGTERM");
        expect(await h.exited()).toBe(0);
      } finally {
        clearInterval(acceptor);
        for (const fd of [...accepted, listening]) closeFd(fd);
      }
    } finally {
      ns.run(["ip", "link", "del", "vl-hung"]);
      rmSync(hungDir, { recursive: true, force: true });
    }
  }, 20_000);
});
