/**
 * `vmlan helper` through the compiled binary, inside a namespace this file creates: the JSON
 * start line, vfkit's 4-byte greeting, the socket lock, malformed frames, stats, SIGTERM cleanup and
 * a VM end that closes (--fd).
 * The VM is test/support/dgram-guest.ts as a socket client (it binds its own path, as vfkit does).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { libc } from "../../../ffi/libc/load.ts";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM } from "../../../ffi/libc/constants.ts";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";
import { LineProc, vmlanIn } from "./proc.ts";
import { cleanCodeMappings } from "../../../src/datapath/code-pages.ts";

const GUEST = join(import.meta.dir, "..", "..", "support", "dgram-guest.ts");
let ns: Netns;
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-helper-"));
const sockDir = mkdtempSync(join(tmpdir(), "vmlan-sock-"));
const env = { VMLAN_STATE_DIR: stateDir };
const procs: LineProc[] = [];
const vmlan = (...args: string[]) => runVmlan(args, { env, netns: ns.name });
const attachments = async (): Promise<Array<Record<string, unknown>>> => JSON.parse((await vmlan("attachments", "--format", "json")).stdout);
const linkExists = (dev: string) => ns.run(["ip", "link", "show", "dev", dev]).code === 0;
const ping = (ip: string) => ns.run(["ping", "-c", "2", "-i", "0.2", "-W", "1", ip]);

function helper(...args: string[]): LineProc {
  const p = vmlanIn(ns.name, ["helper", "--network", "h", ...args], env);
  procs.push(p);
  return p;
}
function guest(socket: string, ip: string, mac: string, ...extra: string[]): LineProc {
  const p = new LineProc([BUN, GUEST, "--socket", socket, "--ip", ip, "--mac", mac, ...extra], {});
  procs.push(p);
  return p;
}
type Line = Record<string, string | number>;
const startLine = async (p: LineProc): Promise<Line> => JSON.parse(await p.waitFor(/^\{/)) as Line;

beforeAll(async () => {
  ns = createNetns();
  const r = await vmlan("network", "create", "h", "--subnet", "10.72.0.0/24", "--mode", "host", "--mtu", "1500");
  if (r.exitCode !== 0) throw new Error(`network create: ${r.stderr}`);
});
afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
  ns?.delete();
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(sockDir, { recursive: true, force: true });
});

describe("vmlan helper", () => {
  test("prints one vmnet-helper JSON line that matches the attachment; a vfkit-style client is reachable; SIGTERM cleans up", async () => {
    const sock = join(sockDir, "one.sock");
    const h = helper("--socket", sock, "--id", "SOCK-ONE");
    const line = await startLine(h);
    const [att] = await attachments();
    expect(att).toMatchObject({ network: "h", id: "SOCK-ONE", state: "active" });
    expect(line).toEqual({
      vmnet_mac_address: att!.mac, vmnet_mtu: 1500, vmnet_max_packet_size: 1514, vmnet_interface_id: "SOCK-ONE",
      vmnet_start_address: "10.72.0.1", vmnet_end_address: "10.72.0.254", vmnet_subnet_mask: "255.255.255.0",
      vmnet_read_max_packets: 64, vmnet_write_max_packets: 64, vmnet_nat66_prefix: "",
      net_ipv4_subnet: "10.72.0.1", net_ipv4_mask: "255.255.255.0", net_ipv6_prefix: "", net_ipv6_prefix_len: 0,
      vmlan_address: att!.address, vmlan_prefix_length: 24, vmlan_gateway: "10.72.0.1", vmlan_hostname: att!.hostname,
      vmlan_network: "h", vmlan_tap: expect.stringMatching(/^vlt\d+$/), vmlan_isolation: false, vmlan_tso: false, vmlan_checksum_offload: false,
    } as unknown as Line);
    expect(h.out.length).toBe(1);
    expect(statSync(sock).mode & 0o777).toBe(0o600);
    expect(existsSync(`${sock}.lock`)).toBe(true);
    expect(ns.sh(["ip", "-o", "link", "show", "dev", String(line.vmlan_tap)])).toContain("master vl-h");

    // The guest's first datagram is "VFKT" (4 bytes): the helper connects to it and drops it.
    const g = guest(sock, String(line.vmlan_address), String(line.vmnet_mac_address));
    await g.waitFor(/^ready/);
    const r = ping(String(line.vmlan_address));
    expect(r.code, r.stdout + r.stderr).toBe(0);

    h.kill("SIGTERM");
    expect(await h.exited()).toBe(0);
    expect(h.err.join("\n")).toContain("stopping: received SIGTERM");
    expect(linkExists(String(line.vmlan_tap))).toBe(false);
    expect(existsSync(sock)).toBe(false);
    expect(existsSync(`${sock}.lock`)).toBe(false);
    expect(await attachments()).toEqual([]);
    g.kill();
  });

  test("once it forwards it gives back its start's code pages, only clean ones, and forwards on", async () => {
    const sock = join(sockDir, "trim.sock");
    const h = helper("--socket", sock, "--id", "trim");
    const line = await startLine(h);
    const pid = h.proc.pid; // `ip netns exec` execs the binary itself
    const status = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
    const fileBefore = status("RssFile"); // started, waiting for its client: nothing forwarded, nothing given back yet
    const g = guest(sock, String(line.vmlan_address), String(line.vmnet_mac_address));
    await g.waitFor(/^ready/);
    // What it would give back: the binary's own code among it, and not one page the process wrote.
    const picked = cleanCodeMappings(readFileSync(`/proc/${pid}/maps`, "latin1"));
    expect(picked.some((m) => m.perms === "r-xp" && m.path === readlinkSync(`/proc/${pid}/exe`))).toBe(true);
    const anonymous = new Map<number, number>();
    let start = -1;
    for (const l of readFileSync(`/proc/${pid}/smaps`, "latin1").split("\n")) {
      const m = /^([0-9a-f]+)-[0-9a-f]+ /.exec(l);
      if (m) start = parseInt(m[1]!, 16);
      else if (l.startsWith("Anonymous:")) anonymous.set(start, parseInt(l.slice(10), 10));
    }
    for (const m of picked) expect({ path: m.path, anonymous: anonymous.get(m.start) }).toEqual({ path: m.path, anonymous: 0 });
    await Bun.sleep(1500); // past the first trim, 1 s after the forwarding started
    expect(status("RssFile")).toBeLessThan(fileBefore * 0.8); // measured: about 40 MB before, 12-25 MB after
    const r = ping(String(line.vmlan_address));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    h.kill("SIGTERM");
    expect(await h.exited()).toBe(0);
    g.kill();
  });

  test("a live helper's socket is refused; a dead helper's stale socket is replaced", async () => {
    const sock = join(sockDir, "two.sock");
    const first = helper("--socket", sock, "--id", "two");
    await startLine(first);
    const second = helper("--socket", sock, "--id", "two-b");
    expect(await second.exited()).toBe(4);
    expect(second.err.join("\n")).toContain(`error: socket ${sock} is in use by a running helper`);
    expect(second.out).toEqual([]);

    first.kill("SIGKILL"); // no cleanup: socket and lock file stay, the lock does not
    await first.exited();
    expect(existsSync(sock)).toBe(true);
    const third = helper("--socket", sock, "--id", "two");
    const line = await startLine(third);
    const g = guest(sock, String(line.vmlan_address), String(line.vmnet_mac_address));
    await g.waitFor(/^ready/);
    expect(ping(String(line.vmlan_address)).code).toBe(0);
    third.kill("SIGTERM");
    expect(await third.exited()).toBe(0);
    expect(existsSync(sock)).toBe(false);
    g.kill();
  });

  test("a lock held for a moment (the services daemon tidying the last helper's files) does not refuse a new helper", async () => {
    const sock = join(sockDir, "tidied.sock");
    // flock(1) holds the lock 150 ms, as a tidier holds it for its check: the helper waits it out.
    const holder = Bun.spawn(["flock", `${sock}.lock`, "sh", "-c", "echo held; sleep 0.15"], { stdout: "pipe" });
    const reader = (holder.stdout as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("held\n");
    const h = helper("--socket", sock, "--id", "tidied");
    expect((await startLine(h)).vmnet_interface_id).toBeDefined();
    expect(await holder.exited).toBe(0);
    h.kill("SIGTERM");
    expect(await h.exited()).toBe(0);
  });

  test("malformed frames (empty, 4, 13 and 1600 bytes) are dropped and counted; traffic continues", async () => {
    const sock = join(sockDir, "bad.sock");
    const h = helper("--socket", sock, "--id", "bad", "--stats-interval", "1");
    const line = await startLine(h);
    const g = guest(sock, String(line.vmlan_address), String(line.vmnet_mac_address), "--malformed");
    await g.waitFor(/^ready/);
    const r = ping(String(line.vmlan_address));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // vmnet-helper's stats line: "INFO  [stats] {...}", "host" = toward the VM, "vm" = from it.
    const statsText = await h.waitFor(/\[stats\] .*"malformed": 4/, { stream: "err", timeoutMs: 5000 });
    expect(statsText).toStartWith("INFO  [stats] {\"time\": \"");
    const stats = JSON.parse(statsText.slice(statsText.indexOf("{")));
    expect(new Date(stats.time).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(stats.vm.malformed).toBe(4);
    expect(stats.vm.packets).toBeGreaterThanOrEqual(2); // ARP reply + echo replies
    expect(stats.vm.fast).toBeGreaterThanOrEqual(1);
    expect(stats.host.packets).toBeGreaterThanOrEqual(2);
    expect(stats.host.bytes).toBeGreaterThan(0);
    expect(Object.keys(stats.host)).toEqual(["packets", "bytes", "drops", "fast", "slow", "malformed", "retries"]);
    expect(g.proc.exitCode).toBeNull();
    h.kill("SIGINT");
    expect(await h.exited()).toBe(0);
    g.kill();
  });

  test("--fd: when the VM's end is closed, the next frame toward it stops the helper normally (exit 0, cleaned up)", async () => {
    const sv = new Int32Array(2);
    expect(libc().socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv)).toBe(0);
    const h = vmlanIn(ns.name, ["helper", "--fd", "3", "--network", "h", "--id", "fd-peer"], env, [sv[1]!]);
    procs.push(h);
    const line = await startLine(h);
    libc().close(sv[1]!);
    libc().close(sv[0]!); // the "VM" is gone
    // Linux reports nothing to the reader of a datagram socket whose peer closed; the ARP broadcast
    // for the VM's address is what reaches the dead peer (ECONNREFUSED).
    ping(String(line.vmlan_address));
    expect(await h.exited()).toBe(0);
    expect(h.err.join("\n")).toContain("stopping: the VM side closed");
    expect(linkExists(String(line.vmlan_tap))).toBe(false);
    expect(await attachments()).toEqual([]);
  });

  test("SIGTERM after SIGTERM while it stops (a supervisor's retries, vmnet-run's stop racing the VM's exit): still exit 0, cleaned up", async () => {
    for (let i = 0; i < 5; i++) {
      const sv = new Int32Array(2);
      expect(libc().socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv)).toBe(0);
      const h = vmlanIn(ns.name, ["helper", "--fd", "3", "--network", "h", "--id", `term-${i}`], env, [sv[1]!]);
      procs.push(h);
      const line = await startLine(h);
      libc().close(sv[1]!);
      while (h.proc.exitCode === null && h.proc.signalCode === null) {
        h.kill("SIGTERM");
        await Bun.sleep(1);
      }
      libc().close(sv[0]!);
      expect(await h.exited()).toBe(0); // not 143: no moment of the stop is left without a handler
      expect(linkExists(String(line.vmlan_tap))).toBe(false);
    }
    expect(await attachments()).toEqual([]);
  });

  test("under a vmlan supervisor (VMLAN_HELPER_SUPERVISED=1) a routine stop prints nothing; errors still do", async () => {
    const supervised = { ...env, VMLAN_HELPER_SUPERVISED: "1" };
    const sock = join(sockDir, "sup.sock");
    const h = vmlanIn(ns.name, ["helper", "--network", "h", "--socket", sock, "--id", "sup"], supervised);
    procs.push(h);
    await startLine(h);
    h.kill("SIGTERM");
    expect(await h.exited()).toBe(0);
    expect(h.err).toEqual([]);
    expect(await attachments()).toEqual([]);
    const bad = vmlanIn(ns.name, ["helper", "--network", "nope", "--socket", join(sockDir, "sup2.sock")], supervised);
    procs.push(bad);
    expect(await bad.exited()).toBe(3);
    expect(bad.err.join("\n")).toMatch(/^error: .*nope/m);
  });

  test("usage errors and a network that is not up: one error line, nothing allocated", async () => {
    const none = await vmlan("helper", "--network", "h");
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain("either --fd or --socket is required");
    const both = await vmlan("helper", "--network", "h", "--fd", "3", "--socket", "/tmp/x");
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toContain("mutually exclusive");
    ns.sh(["ip", "link", "set", "vl-h", "down"]);
    const down = await vmlan("helper", "--network", "h", "--socket", join(sockDir, "down.sock"));
    ns.sh(["ip", "link", "set", "vl-h", "up"]);
    expect(down.exitCode).toBe(6);
    expect(down.stderr).toMatch(/^error: network "h" is not up/);
    expect(down.stdout).toBe("");
    expect(await attachments()).toEqual([]);
  });
});
