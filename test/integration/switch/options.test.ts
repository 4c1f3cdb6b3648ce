/**
 * `vmlan switch` with socket_vmnet's options next to its own (the compiled binary, in a namespace of
 * its own): the network they choose, the socket as the one argument, and vmlan's exit codes for bad
 * input, with nothing created.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { createNetns, type Netns } from "../../support/netns.ts";
import { type LineProc, vmlanIn } from "../helper/proc.ts";

let ns: Netns;
const dir = mkdtempSync(join(tmpdir(), "vmlan-switch-opts-"));
const env = { VMLAN_STATE_DIR: join(dir, "state") };
const procs: LineProc[] = [];
const vmlan = (...args: string[]) => runVmlan(args, { env, netns: ns.name });

beforeAll(() => { ns = createNetns(); });
afterAll(async () => {
  for (const p of procs) p.kill("SIGKILL");
  await Promise.all(procs.map((p) => p.exited()));
  await vmlan("system", "stop");
  ns?.delete();
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe("vmlan switch with socket_vmnet's options", () => {
  test("bad input: one line naming the value, exit 2, no network and no socket", async () => {
    const cases: [string[], string][] = [
      [["--socket", join(dir, "a.sock"), "--network", "lab", "--vmnet-gateway", "10.80.0.1"], "error: conflicting arguments: --network cannot be used with --vmnet-gateway"],
      [[join(dir, "a.sock"), "--vmnet-gateway", "10.80.0.300"], `error: invalid address "10.80.0.300" was specified for --vmnet-gateway`],
      [[join(dir, "a.sock"), "--vmnet-mask", "255.255.0.0"], "error: --vmnet-mask=MASK requires --vmnet-gateway=IP"],
      [["--socket", join(dir, "a.sock"), join(dir, "b.sock")], `error: conflicting arguments: the socket is given twice (--socket and "${join(dir, "b.sock")}")`],
      [[], "error: missing argument: --socket PATH (or the socket path as the one argument)"],
    ];
    for (const [args, line] of cases) {
      const r = await vmlan("switch", ...args);
      expect({ args, code: r.exitCode, err: r.stderr.trim() }).toEqual({ args, code: 2, err: line });
    }
    expect(JSON.parse((await vmlan("network", "list", "--format", "json")).stdout)).toEqual([]);
    expect(existsSync(join(dir, "a.sock"))).toBe(false);
  });

  test("the socket as the one argument and --vmnet-gateway/--vmnet-dhcp-end: that network, created, up, in the JSON line", async () => {
    const p = vmlanIn(ns.name, ["switch", join(dir, "gw.sock"), "--vmnet-gateway=10.80.0.1", "--vmnet-dhcp-end=10.80.0.50"], env);
    procs.push(p);
    const line = JSON.parse(await p.waitFor(/^\{/, { timeoutMs: 20_000 })) as Record<string, string | number>;
    expect(line).toMatchObject({ vmnet_start_address: "10.80.0.1", vmnet_end_address: "10.80.0.50", vmnet_subnet_mask: "255.255.255.0", vmlan_subnet: "10.80.0.0/24", vmlan_socket: join(dir, "gw.sock") });
    const nets = JSON.parse((await vmlan("network", "inspect", String(line.vmlan_network))).stdout) as { host: { up: boolean } }[];
    expect(nets[0]!.host.up).toBe(true);
    p.kill("SIGTERM");
    expect(await p.exited()).toBe(0);
  }, 30_000);

  test("--vmnet-mode host without a gateway: the built-in host-only network", async () => {
    const p = vmlanIn(ns.name, ["switch", "--socket", join(dir, "host.sock"), "--vmnet-mode", "host"], env);
    procs.push(p);
    const line = JSON.parse(await p.waitFor(/^\{/, { timeoutMs: 20_000 })) as Record<string, string | number>;
    expect(line.vmlan_network).toBe("host");
    p.kill("SIGTERM");
    expect(await p.exited()).toBe(0);
  }, 30_000);
});
