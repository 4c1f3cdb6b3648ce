/**
 * `vmlan switch` through the compiled binary, in a namespace of its own (`system start` runs vmlan's
 * DHCP there), with clients speaking QEMU's stream framing: fake guests (test/support/stream-guest.ts:
 * ARP, ping), a real DHCP client (busybox udhcpc) on a TAP in a guest namespace relayed to the switch
 * (test/support/stream-tap.ts), and raw clients that break the framing on purpose
 * (test/support/stream-client.ts). Each client must get its own TAP on the bridge, lose it and its
 * DHCP lease when it goes, and never take the switch or another client down. Real QEMU guests are in
 * qemu.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";
import { Host, removeScriptDir, udhcpc } from "../services/support.ts";
import { StreamClient, testFrame } from "../../support/stream-client.ts";
import { LineProc, vmlanIn } from "../helper/proc.ts";

const GUEST = join(import.meta.dir, "..", "..", "support", "stream-guest.ts");
const RELAY = join(import.meta.dir, "..", "..", "support", "stream-tap.ts");
const GW = "10.74.0.1";
const BCAST = "ff:ff:ff:ff:ff:ff";
let host: Host;
let ns: Netns;
let stateDir: string;
let env: { VMLAN_STATE_DIR: string };
let sock: string;
let sw: LineProc;
const procs: LineProc[] = [];
const guestNs: Netns[] = [];

beforeAll(async () => {
  host = new Host();
  ({ ns, stateDir } = host);
  env = { VMLAN_STATE_DIR: stateDir };
  sock = join(stateDir, "sw.sock");
  await host.ok("system", "start");
  await host.ok("network", "create", "sw", "--subnet", "10.74.0.0/24", "--mode", "host");
  await host.waitLog(/dhcp\[sw\]: listening/);
  sw = vmlanIn(ns.name, ["switch", "--socket", sock, "--network", "sw"], env);
  procs.push(sw);
  await sw.waitFor(/"vmlan_socket"/);
}, 30_000);
afterAll(async () => {
  for (const p of procs) p.kill("SIGKILL");
  for (const g of guestNs) g.delete();
  await host?.close();
  removeScriptDir();
}, 30_000);

function guest(ip: string, mac: string, ping?: string, socket = sock): LineProc {
  const p = new LineProc([BUN, GUEST, "--socket", socket, "--ip", ip, "--mac", mac, ...(ping ? ["--ping", ping, "--timeout", "8000"] : [])], {});
  procs.push(p);
  return p;
}
const taps = () => ns.ipJson<{ ifname: string }[]>(["link", "show", "master", "vl-sw"]).map((l) => l.ifname).filter((n) => n.startsWith("vlt"));
type Att = { id: string; mac: string; address: string; state: string };
async function leaseOf(mac: string): Promise<Att | undefined> {
  const r = await runVmlan(["attachments", "sw", "--all", "--format", "json"], { env, netns: ns.name });
  return (JSON.parse(r.stdout) as Att[]).find((a) => a.mac === mac);
}
async function until<T>(what: string, fn: () => T | Promise<T>, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; switch stderr: ${sw.err.join(" | ")}`);
    await Bun.sleep(50);
  }
}
/** The TAP of the client whose VM uses `mac`, from the switch's log (its MAC line, then its accept line). */
function tapOf(mac: string): string | null {
  const client = sw.err.map((l) => new RegExp(`^vmlan switch: (client \\d+) .*: MAC ${mac}$`).exec(l)?.[1]).findLast(Boolean);
  return client ? (sw.err.map((l) => new RegExp(`Accepted a connection: ${client} .* on (vlt\\d+)$`).exec(l)?.[1]).findLast(Boolean) ?? null) : null;
}

/** A fresh client that pings the gateway: the switch still serves. */
async function stillServes(mac: string): Promise<void> {
  const g = guest("10.74.0.99", mac, GW);
  expect(await g.waitFor(/^ping /, { timeoutMs: 10_000 })).toBe(`ping ok ${GW}`);
  g.kill();
  await g.exited();
}

describe("each client is a port of its own", () => {
  test("clients reach the gateway and each other on TAPs of their own; a third sees none of their unicast; leaving frees the ports", async () => {
    const c = guest("10.74.0.12", "02:74:00:00:00:0c");
    await c.waitFor(/^ready/);
    const a = guest("10.74.0.10", "02:74:00:00:00:0a", GW);
    const b = guest("10.74.0.11", "02:74:00:00:00:0b", "10.74.0.10");
    expect(await a.waitFor(/^ping /, { timeoutMs: 10_000 })).toBe(`ping ok ${GW}`);
    expect(await b.waitFor(/^ping /, { timeoutMs: 10_000 })).toBe("ping ok 10.74.0.10");
    expect(taps()).toHaveLength(3);
    for (const g of [a, b, c]) g.kill();
    expect(await c.waitFor(/^frames /)).toMatch(/ foreign 0$/);
    await until("the TAPs to go", () => taps().length === 0);
  }, 30_000);

  for (const signal of ["SIGTERM", "SIGKILL"] as const) {
    test(`a real DHCP client gets its address from vmlan through the switch; a client ended by ${signal} frees its port and lease`, async () => {
      const mac = signal === "SIGTERM" ? "02:74:00:00:00:0d" : "02:74:00:00:00:0f";
      const g = createNetns();
      guestNs.push(g);
      const relay = new LineProc(["ip", "netns", "exec", g.name, BUN, RELAY, "--socket", sock, "--mac", mac], { VMLAN_TEST_NETNS: g.name });
      procs.push(relay);
      try {
      await relay.waitFor(/^ready/);
      const { lease, output } = udhcpc(g);
      expect(lease, output).toMatchObject({ router: GW, mask: "24" });
      const att = await leaseOf(mac);
      expect(att).toMatchObject({ id: `mac-${mac.replaceAll(":", "")}`, address: lease!.ip, state: "active" });
      g.sh(["ip", "addr", "add", `${lease!.ip}/24`, "dev", "eth0"]);
      expect(g.run(["ping", "-c", "1", "-W", "3", GW]).code).toBe(0);
      relay.kill(signal);
      await until("the TAP to go", () => taps().length === 0);
      await until("the lease to be released", async () => (await leaseOf(mac))?.state === "released");
      expect(sw.err.join("\n")).toContain(`released ${lease!.ip} (mac-${mac.replaceAll(":", "")})`);
      } finally {
        relay.kill("SIGKILL");
      }
    }, 30_000);
  }

  test("a second client with a MAC already on the switch is refused; the first keeps working", async () => {
    const first = new StreamClient(sock);
    const twin = new StreamClient(sock);
    try {
      first.frames([testFrame(BCAST, "02:74:00:00:00:0e")]);
      await until("the first client's MAC", () => sw.err.some((l) => l.endsWith(": MAC 02:74:00:00:00:0e")));
      twin.frames([testFrame(BCAST, "02:74:00:00:00:0e")]);
      await until("the refusal", () => sw.err.some((l) => /refused: MAC 02:74:00:00:00:0e is already used by client \d+/.test(l)));
      await until("the twin to be hung up on", () => twin.hungUp());
      expect(first.hungUp()).toBe(false);
    } finally {
      for (const c of [first, twin]) c.close();
    }
    await until("the TAPs to go", () => taps().length === 0);
  }, 20_000);
});

describe("what a client sends cannot hurt the switch or the others", () => {
  const hostile: [string, Uint8Array, RegExp][] = [
    ["length 0", new Uint8Array([0, 0, 0, 0]), /dropped: frame length 0 /],
    ["a huge length", new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3]), /dropped: frame length 4294967295 over the stream maximum of 65550/],
    // Garbage reads as a huge length too: the same kind of damage within 10 s, so it is counted but not logged again.
    ["garbage", new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), /dropped: frame length (4294967295|1195725856) over/],
    ["a truncated frame", new Uint8Array([0, 0, 0, 60, ...testFrame(BCAST, "02:74:00:00:00:f1").subarray(0, 20)]), /dropped: connection closed inside a frame \(20 of 60 bytes\)/],
  ];
  for (const [name, bytes, logged] of hostile) {
    test(`${name}: that client alone is dropped, logged once (rate-limited per kind), and the switch keeps serving`, async () => {
      const h = new StreamClient(sock);
      try {
        h.write(bytes);
        if (name === "a truncated frame") h.close(); // the connection ends inside the frame
        else await until("the hang-up", () => h.hungUp());
        await until("the log line", () => sw.err.some((l) => logged.test(l)));
        await Bun.sleep(200);
        expect(sw.err.filter((l) => logged.test(l))).toHaveLength(1);
      } finally {
        h.close();
      }
      await until("its TAP to go", () => taps().length === 0);
      await stillServes("02:74:00:00:00:21");
    }, 20_000);
  }

  test("an oversized frame in a valid stream is dropped and counted; the client stays", async () => {
    const h = new StreamClient(sock);
    try {
      h.frames([testFrame(BCAST, "02:74:00:00:00:22", 1600), testFrame(BCAST, "02:74:00:00:00:22")]);
      await until("its MAC", () => sw.err.some((l) => l.endsWith(": MAC 02:74:00:00:00:22")));
      await Bun.sleep(300);
      expect(h.hungUp()).toBe(false);
    } finally {
      h.close();
    }
    expect(await sw.waitFor(/client \d+ .*closed .*malformed 1,/, { stream: "err" })).toBeTruthy();
    await until("its TAP to go", () => taps().length === 0);
  }, 20_000);

  test("a client that never reads stalls only itself: the kernel drops what it does not take, others keep working", async () => {
    const deaf = new StreamClient(sock);
    const flood = new StreamClient(sock);
    try {
      deaf.frames([testFrame(BCAST, "02:74:00:00:00:23")]);
      const tap = (await until("its port", () => tapOf("02:74:00:00:00:23")))!;
      // 20,000 broadcast frames (20 MB) reach every port, the deaf one too.
      const burst = Array.from({ length: 500 }, () => testFrame(BCAST, "02:74:00:00:00:24", 1000));
      for (let i = 0; i < 40; i++) flood.frames(burst);
      await until("drops at the deaf client's TAP", () => Number(ns.ipJson<{ stats64: { tx: { dropped: number } } }[]>(["-s", "link", "show", tap])[0]!.stats64.tx.dropped) > 0);
      await stillServes("02:74:00:00:00:25");
      expect(deaf.hungUp()).toBe(false); // a paused VM keeps its port
    } finally {
      for (const c of [deaf, flood]) c.close();
    }
    await until("the TAPs to go", () => taps().length === 0);
  }, 30_000);
});

describe("the socket, the pidfile and stopping", () => {
  test("SIGTERM: the switch says how many clients it dropped for broken framing, exits 0 and removes its socket", async () => {
    sw.kill("SIGTERM");
    expect(await sw.exited()).toBe(0);
    expect(sw.err.some((l) => /^vmlan switch: Received signal SIGTERM; served \d+ clients, dropped 4 for broken framing, refused 1$/.test(l))).toBe(true);
    expect(existsSync(sock)).toBe(false);
    sw = vmlanIn(ns.name, ["switch", "--socket", sock, "--network", "sw"], env); // for the tests below
    procs.push(sw);
    await sw.waitFor(/"vmlan_socket"/);
  }, 20_000);

  test("only a dead switch's socket is replaced: a live one and a regular file are refused (exit 4)", async () => {
    const live = await runVmlan(["switch", "--socket", sock, "--network", "sw"], { env, netns: ns.name });
    expect([live.exitCode, live.stderr.trim()]).toEqual([4, `error: a switch is already listening on ${sock}`]);
    const file = join(stateDir, "a-file");
    writeFileSync(file, "mine");
    const f = await runVmlan(["switch", "--socket", file, "--network", "sw"], { env, netns: ns.name });
    expect([f.exitCode, f.stderr.trim(), readFileSync(file, "utf8")]).toEqual([4, `error: ${file} exists and is not a socket; remove it by hand`, "mine"]);
    const down = await runVmlan(["switch", "--socket", join(stateDir, "x.sock"), "--network", "nope"], { env, netns: ns.name });
    expect(down.exitCode).toBe(3);
    expect(existsSync(join(stateDir, "x.sock"))).toBe(false);
  }, 20_000);

  test("--socket-group makes the socket 0770 for that group, --pidfile holds the pid; SIGTERM exits 0, removes both and hangs up on the clients", async () => {
    const s2 = join(stateDir, "sw2.sock");
    const pid = join(stateDir, "sw2.pid");
    const staff = Number(readFileSync("/etc/group", "utf8").split("\n").find((l) => l.startsWith("staff:"))?.split(":")[2] ?? 0);
    const p = vmlanIn(ns.name, ["switch", "--socket", s2, "--network", "sw", "--socket-group", "staff", "-p", pid], env);
    procs.push(p);
    await p.waitFor(/"vmlan_socket"/);
    expect([statSync(s2).mode & 0o777, statSync(s2).gid]).toEqual([0o770, staff]);
    expect(readFileSync(pid, "utf8")).toBe(String(JSON.parse(p.out[0]!).vmlan_pid));
    const g = guest("10.74.0.14", "02:74:00:00:00:26", GW, s2);
    await g.waitFor(/^ping ok/, { timeoutMs: 10_000 });
    p.kill("SIGTERM");
    expect(await p.exited()).toBe(0);
    expect([existsSync(s2), existsSync(pid)]).toEqual([false, false]);
    expect(await g.waitFor(/^frames /)).toBeTruthy(); // the guest saw the switch hang up
  }, 30_000);
});
