/**
 * The compiled vmlan started as `socket_vmnet` and `socket_vmnet_client` (links from `vmlan compat
 * install`), with only socket_vmnet's command line, in a namespace of its own: its exits and messages
 * for a bad command line (nothing created), its socket (group staff, 0770), pidfile and INFO lines,
 * the networks its options mean, and the client's exec with the socket as fd 3. Bridged mode is in
 * socket-vmnet-bridged.test.ts, QEMU guests on it in test/integration/switch/qemu.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { BUN } from "../../support/netns.ts";
import { LineProc } from "../helper/proc.ts";
import { CompatHost } from "./support.ts";

const GUEST = join(import.meta.dir, "..", "..", "support", "stream-guest.ts");
const ID = "8D3C2F0A-1B2C-4D5E-8F90-A1B2C3D4E5F6";
let h: CompatHost;
type Net = { name: string; mode: string; subnet: string; gateway: string; dhcp: boolean; labels: Record<string, string> };
const networks = async () => JSON.parse((await h.vmlan("network", "list", "--format", "json")).stdout) as Net[];
const staffGid = () => Number(readFileSync("/etc/group", "utf8").split("\n").find((l) => l.startsWith("staff:"))?.split(":")[2]);

beforeAll(async () => { h = await new CompatHost().install(); }, 30_000);
afterAll(() => h?.stop(), 30_000);

describe("socket_vmnet's command line", () => {
  test("-h and -v print on stdout and exit 0", async () => {
    const help = await h.run("socket_vmnet", ["-h"]);
    expect([help.exitCode, help.stdout.split("\n")[0]]).toEqual([0, `Usage: ${join(h.bin, "socket_vmnet")} [OPTION]... SOCKET`]);
    const v = await h.run("socket_vmnet", ["--version"]);
    expect([v.exitCode, v.stdout]).toEqual([0, "v1.2.2"]);
  });

  const bad: [string[], string][] = [
    [[], ""],
    [["a.sock", "b.sock"], ""],
    [["--bogus", "s.sock"], "socket_vmnet: unrecognized option `--bogus'"],
    [["s.sock", "-p"], "socket_vmnet: option `-p' requires an argument"],
    [["--vmnet-mode=nat", "s.sock"], `ERROR| Unknown vmnet mode "nat"`],
    [["--vmnet-mode=bridged", "s.sock"], `ERROR| vmnet mode "bridged" require --vmnet-interface to be specified`],
    [["--vmnet-dhcp-end=10.79.9.9", "s.sock"], "ERROR| --vmnet-dhcp-end=IP requires --vmnet-gateway=IP"],
    [["--vmnet-gateway=10.79.9.256", "s.sock"], `ERROR| invalid address "10.79.9.256" was specified for --vmnet-gateway`],
  ];
  for (const [args, message] of bad) {
    test(`${JSON.stringify(args)}: ${message || "usage"}, the usage on stdout, exit 1, nothing created`, async () => {
      const r = await h.run("socket_vmnet", args.map((a) => (a.endsWith(".sock") ? h.sock(a.slice(0, -5)) : a)));
      expect(r.exitCode).toBe(1);
      expect(r.stdout.split("\n")[0]).toStartWith("Usage: ");
      expect(r.stderr.replaceAll(`${h.bin}/`, "")).toBe(message);
      expect(await networks()).toEqual([]);
      expect(readdirSync(h.dir).filter((f) => f.endsWith(".sock"))).toEqual([]);
    });
  }

  test("an unknown socket group or a held pidfile: one ERROR line, exit 1, the other's pidfile kept", async () => {
    const g = await h.run("socket_vmnet", ["--vmnet-mode=host", "--socket-group=no-such-group", h.sock("g")]);
    expect([g.exitCode, g.stderr.split("\n").at(-1)]).toEqual([1, `ERROR| invalid --socket-group "no-such-group": unknown group name`]);
    expect(existsSync(h.sock("g"))).toBe(false);
    const pid = join(h.dir, "sv.pid");
    const first = h.start("socket_vmnet", ["--vmnet-mode=host", "-p", pid, h.sock("p1")]);
    await first.waitFor(/\* vmlan_pid: /, { stream: "err" });
    const second = await h.run("socket_vmnet", ["--vmnet-mode=host", "-p", pid, h.sock("p2")]);
    expect([second.exitCode, second.stderr.split("\n").at(-1)]).toEqual([1, `ERROR| Failed to open pidfile: "${pid}": Resource temporarily unavailable (another process holds it)`]);
    expect(readFileSync(pid, "utf8")).toBe(String(first.proc.pid));
    first.kill("SIGTERM");
    expect(await first.exited()).toBe(0);
  }, 30_000);
});

describe("socket_vmnet serving", () => {
  test("--vmnet-gateway/--vmnet-dhcp-end: a network with that range, a staff 0770 socket, vmnet's keys logged; a guest reaches the gateway; SIGHUP exits 0 and cleans up", async () => {
    const pid = join(h.dir, "gw.pid");
    const sv = h.start("socket_vmnet", ["--vmnet-gateway=10.79.0.1", "--vmnet-dhcp-end=10.79.0.20", `--pidfile=${pid}`, h.sock("gw")]);
    await sv.waitFor(/\* vmlan_pid: /, { stream: "err" });
    const log = sv.err.join("\n");
    for (const l of ["INFO | Initializing vmlan network (mode 1001)", "INFO | * vmnet_start_address: 10.79.0.1", "INFO | * vmnet_end_address: 10.79.0.20", "INFO | * vmnet_subnet_mask: 255.255.255.0"]) expect(log).toContain(l);
    expect([statSync(h.sock("gw")).mode & 0o777, statSync(h.sock("gw")).gid]).toEqual([0o770, staffGid()]);
    expect((await networks()).find((n) => n.gateway === "10.79.0.1")).toMatchObject({ mode: "shared", subnet: "10.79.0.0/24", labels: { "vmlan.compat": "vmnet-helper" } });
    const g = new LineProc([BUN, GUEST, "--socket", h.sock("gw"), "--ip", "10.79.0.30", "--mac", "02:79:00:00:00:01", "--ping", "10.79.0.1", "--timeout", "8000"], {});
    h.procs.push(g);
    expect(await g.waitFor(/^ping /, { timeoutMs: 10_000 })).toBe("ping ok 10.79.0.1");
    sv.kill("SIGHUP");
    expect(await sv.exited()).toBe(0);
    expect(sv.err.at(-1)).toBe(`INFO | Removed pidfile "${pid}" for process ${sv.proc.pid}`);
    expect([existsSync(h.sock("gw")), existsSync(pid)]).toEqual([false, false]);
  }, 30_000);

  test("--vmnet-network-identifier: switches given the same id share one isolated host network without DHCP", async () => {
    const a = h.start("socket_vmnet", ["--vmnet-mode=host", `--vmnet-network-identifier=${ID.toLowerCase()}`, h.sock("ida")]);
    await a.waitFor(/\* vmlan_pid: /, { stream: "err" });
    const b = h.start("socket_vmnet", ["--vmnet-mode", "host", "--vmnet-network-identifier", ID, h.sock("idb")]);
    await b.waitFor(/\* vmlan_pid: /, { stream: "err" });
    const mine = (await networks()).filter((n) => n.labels["vmlan.vmnet-network-identifier"] === ID);
    expect(mine).toEqual([expect.objectContaining({ name: "vmnet-8d3c2f0a", mode: "host", dhcp: false })]);
    expect(b.err.join("\n")).toContain("* vmlan_network: vmnet-8d3c2f0a");
    for (const p of [a, b]) p.kill("SIGTERM");
  }, 30_000);
});

describe("socket_vmnet_client", () => {
  test("connects and execs COMMAND with the socket as fd 3, in its own pid; `--` before COMMAND is skipped", async () => {
    const sv = h.start("socket_vmnet", ["--vmnet-mode=host", h.sock("cl")]);
    await sv.waitFor(/\* vmlan_pid: /, { stream: "err" });
    const c = h.start("socket_vmnet_client", [h.sock("cl"), "--", "sh", "-c", "readlink /proc/self/fd/3; echo pid $$; grep SigIgn /proc/self/status"]);
    expect(await c.exited()).toBe(0);
    expect(c.out[0]).toMatch(/^socket:\[\d+\]$/);
    expect(c.out[1]).toBe(`pid ${c.proc.pid}`); // exec'd, not spawned (ip netns exec execs too)
    expect(c.out[2]).toBe("SigIgn:\t0000000000000000"); // Bun's ignored SIGPIPE is not passed on
    sv.kill("SIGTERM");
  }, 30_000);

  test("usage, a socket nobody listens on, a command that does not exist: socket_vmnet_client's lines, exit 1", async () => {
    const bin = join(h.bin, "socket_vmnet_client");
    expect(await h.run("socket_vmnet_client", [h.sock("x")])).toMatchObject({ exitCode: 1, stderr: `Usage: ${bin} SOCKET COMMAND [ARGS...]` });
    expect(await h.run("socket_vmnet_client", [h.sock("none"), "true"])).toMatchObject({ exitCode: 1, stderr: `Failed to connect to "${h.sock("none")}": No such file or directory` });
    const sv = h.start("socket_vmnet", ["--vmnet-mode=host", h.sock("cx")]);
    await sv.waitFor(/\* vmlan_pid: /, { stream: "err" });
    expect(await h.run("socket_vmnet_client", [h.sock("cx"), "/nonexistent/qemu"])).toMatchObject({ exitCode: 1, stderr: `Failed to exec "/nonexistent/qemu": No such file or directory` });
    sv.kill("SIGTERM");
  }, 30_000);
});
