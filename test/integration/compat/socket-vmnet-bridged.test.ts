/**
 * socket_vmnet's bridged mode on vmlan, started by name: `--vmnet-mode=bridged --vmnet-interface=up0`
 * joins the bridged network on that uplink (made on first use, shared with vmnet-helper's bridged
 * mode), so a stream client is a host of the LAN. The LAN is test/integration/bridged/support.ts's:
 * namespaces of this test, a veth as the uplink, never a NIC. The client is test/support/stream-guest.ts
 * with a static LAN address; an interface a bridged network cannot use is one ERROR line.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { BUN } from "../../support/netns.ts";
import { LineProc } from "../helper/proc.ts";
import { BridgedLan, LAN } from "../bridged/support.ts";

const GUEST = join(import.meta.dir, "..", "..", "support", "stream-guest.ts");
let lan: BridgedLan;
const procs: LineProc[] = [];
const byName = (program: string, args: string[]) => {
  const p = new LineProc(["ip", "netns", "exec", lan.host.name, join(lan.dir, "bin", program), ...args], { VMLAN_STATE_DIR: lan.stateDir });
  procs.push(p);
  return p;
};

beforeAll(async () => {
  lan = new BridgedLan();
  const r = await runVmlan(["compat", "install", "--prefix", lan.dir], { env: { VMLAN_STATE_DIR: lan.stateDir } });
  if (r.exitCode !== 0) throw new Error(r.stderr);
});
afterAll(async () => {
  for (const p of procs) p.kill("SIGKILL");
  await Promise.all(procs.map((p) => p.proc.exited));
  await lan?.vmlan("network", "rm", "vmnet-bridged-up0", "--force", "--if-exists"); // the uplink gets its addresses back
  lan?.close();
}, 30_000);

test("--vmnet-mode=bridged --vmnet-interface=up0: a client on the switch reaches the LAN's router; no vmnet address keys", async () => {
  const sock = join(lan.dir, "br.sock");
  const sv = byName("socket_vmnet", ["--vmnet-mode=bridged", "--vmnet-interface=up0", sock]);
  await sv.waitFor(/\* vmlan_pid: /, { stream: "err", timeoutMs: 20_000 });
  const log = sv.err.join("\n");
  expect(log).toContain("* vmlan_network: vmnet-bridged-up0");
  expect(log).toContain("* vmlan_uplink: up0");
  expect(log).not.toContain("vmnet_start_address");
  const guest = new LineProc([BUN, GUEST, "--socket", sock, "--ip", "10.99.0.78", "--mac", "02:99:00:00:00:78", "--ping", LAN.router, "--timeout", "8000"], {});
  procs.push(guest);
  expect(await guest.waitFor(/^ping /, { timeoutMs: 15_000 })).toBe(`ping ok ${LAN.router}`);
  sv.kill("SIGTERM");
  expect(await sv.exited()).toBe(0);
}, 30_000);

test("an interface a bridged network cannot use: one ERROR line naming --vmnet-interface, exit 1", async () => {
  const bad = byName("socket_vmnet", ["--vmnet-mode=bridged", "--vmnet-interface=eth9", join(lan.dir, "x.sock")]);
  expect(await bad.exited()).toBe(1);
  expect(bad.err.at(-1)).toBe(`ERROR| invalid --vmnet-interface "eth9": not an interface a bridged network can use (vmlan network uplinks)`);
});
