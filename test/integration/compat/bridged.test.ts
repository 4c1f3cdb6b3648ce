/**
 * vmnet-helper's bridged mode on vmlan, started by name: `--list-shared-interfaces` lists the
 * interfaces a bridged network can use, and `--operation-mode bridged --shared-interface up0` joins
 * the bridged network on that uplink (made on first use) so a guest is a host of the LAN. The LAN is
 * test/integration/bridged/support.ts's: namespaces of this test, a veth as the uplink, never a NIC.
 * The guest is test/support/dgram-guest.ts as the helper's --socket client, with a static LAN address.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { BUN } from "../../support/netns.ts";
import { LineProc } from "../helper/proc.ts";
import { BridgedLan, LAN } from "../bridged/support.ts";
import { startLineOf } from "./support.ts";

const GUEST = join(import.meta.dir, "..", "..", "support", "dgram-guest.ts");
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
});

test("--list-shared-interfaces, then a helper in bridged mode: the guest reaches the LAN's router; the network is made once", async () => {
  const list = byName("vmnet-helper", ["--list-shared-interfaces"]);
  expect(await list.exited()).toBe(0);
  expect(list.out).toContain("up0");

  const sock = join(lan.dir, "b.sock");
  const h = byName("vmnet-helper", ["--socket", sock, "--operation-mode", "bridged", "--shared-interface", "up0"]);
  const line = await startLineOf(h);
  expect(line).toMatchObject({ vmlan_network: "vmnet-bridged-up0" });
  for (const key of ["vmnet_start_address", "vmnet_end_address", "vmnet_subnet_mask"]) expect(line).not.toHaveProperty(key); // as vmnet's bridged mode
  const guest = new LineProc([BUN, GUEST, "--socket", sock, "--ip", "10.99.0.77", "--mac", String(line.vmnet_mac_address), "--ping", LAN.router, "--timeout", "5000"], {});
  procs.push(guest);
  expect(await guest.waitFor(/^ping /, { timeoutMs: 15_000 })).toBe(`ping ok ${LAN.router}`);
  h.kill("SIGTERM");
  expect(await h.exited()).toBe(0);

  const [net] = (await lan.json<Array<Record<string, unknown>>>("network", "ls")).filter((n) => n.mode === "bridged");
  expect(net).toMatchObject({ name: "vmnet-bridged-up0", uplink: "up0", labels: { "vmlan.compat": "vmnet-helper" } });
  const again = byName("vmnet-helper", ["--socket", join(lan.dir, "b2.sock"), "--operation-mode", "bridged", "--shared-interface", "up0"]);
  expect((await startLineOf(again)).vmlan_network).toBe("vmnet-bridged-up0");
  again.kill("SIGTERM");
  expect(await again.exited()).toBe(0);
});
