/**
 * Anti-spoofing for socket_vmnet's clients (issue #12 item 2): the binary started as `socket_vmnet`
 * gives every client a guarded TAP, pinned to the MAC of the client's first frame; once that MAC has
 * a lease (here reserved with `vmlan attach --mac`, as for a VM with a fixed address) its IPv4 and
 * IPv6 sources are checked too. A hostile client's forged frames never reach the bridge (a sniffer on
 * it sees only the honest ones), and a client that starts with a MAC another client holds gets nothing
 * through. Honest clients (QEMU on socket_vmnet) are in test/integration/switch/qemu.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { BUN } from "../../support/netns.ts";
import { LineProc } from "../helper/proc.ts";
import { CompatHost } from "./support.ts";

const SUPPORT = join(import.meta.dir, "..", "..", "support");
const HONEST = ["dhcp", "end", "good", "ip6"];
let h: CompatHost;
let sniffer: LineProc;
let network = "";
let other: { mac: string; address: string };

const attach = async (id: string, mac?: string) =>
  JSON.parse((await h.vmlan("attach", network, "--id", id, ...(mac ? ["--mac", mac] : []), "--format", "json")).stdout) as { mac: string; address: string };

/** A hostile socket_vmnet client: spoof-guest on the stream socket, one round now and one `again` ms later. */
function client(mac: string, ip: string, o: { only?: string; again?: number } = {}): LineProc {
  const g = new LineProc([BUN, join(SUPPORT, "spoof-guest.ts"), "--stream", h.sock("sp"), "--mac", mac, "--ip", ip,
    "--other-mac", other.mac, "--other-ip", other.address, ...(o.only ? ["--only", o.only] : []), ...(o.again ? ["--again", String(o.again)] : [])], {});
  h.procs.push(g);
  return g;
}

/** Sniffer lines from `from` on, once `times` "seen end" lines arrived (or 8 s passed). */
async function sniffed(from: number, times: number): Promise<string[]> {
  const end = Date.now() + 8000;
  while (sniffer.out.slice(from).filter((l) => l.startsWith("seen end ")).length < times && Date.now() < end) await Bun.sleep(50);
  return sniffer.out.slice(from);
}
const cases = (lines: string[]) => [...new Set(lines.filter((l) => l.startsWith("seen ")).map((l) => l.split(" ")[1]!))].sort();

beforeAll(async () => {
  h = await new CompatHost().install();
  const sv = h.start("socket_vmnet", ["--vmnet-mode=host", h.sock("sp")]);
  await sv.waitFor(/\* vmlan_pid: /, { stream: "err" });
  const key = (k: string) => sv.err.find((l) => l.includes(`* ${k}: `))!.split(`* ${k}: `)[1]!;
  network = key("vmlan_network");
  other = await attach("neighbour");
  sniffer = new LineProc(["ip", "netns", "exec", h.ns.name, BUN, join(SUPPORT, "sniffer.ts"), "--bridge", key("vmlan_bridge")], { VMLAN_TEST_NETNS: h.ns.name });
  h.procs.push(sniffer);
  await sniffer.waitFor(/^ready/);
}, 30_000);
afterAll(() => h?.stop(), 30_000);

describe("socket_vmnet's clients are guarded", () => {
  test("once its MAC has a lease, a client's forged frames are dropped in the kernel; its honest ones pass", async () => {
    const vm = await attach("vm-a", "02:83:00:00:00:0a");
    const from = sniffer.out.length;
    // Round one pins the port to its first frame's MAC (and the lease follows within 250 ms); round two is checked.
    const g = client(vm.mac, vm.address, { again: 1500 });
    const lines = await sniffed(from, 2);
    const second = lines.slice(lines.findIndex((l) => l.startsWith("seen end ")) + 1);
    expect(cases(second)).toEqual(HONEST);
    expect(second.filter((l) => l.startsWith("arp ") && l !== `arp sha=${vm.mac} spa=${vm.address}`)).toEqual([]);
    expect(cases(lines)).not.toContain("mac"); // never, not even before the lease applied
    g.kill("SIGTERM");
    await g.exited();
  }, 20_000);

  test("a client whose first frame takes the MAC another client holds never gets through", async () => {
    const vm = await attach("vm-b", "02:83:00:00:00:0b");
    const before = sniffer.out.length;
    const holder = client(vm.mac, vm.address, { only: "good" });
    expect(cases(await sniffed(before, 1))).toEqual(["end", "good"]);
    await Bun.sleep(600); // the holder's port is pinned within 250 ms of its first frame
    const from = sniffer.out.length;
    const thief = client(vm.mac, vm.address, { only: "good", again: 1000 });
    await Bun.sleep(2500);
    expect(sniffer.out.slice(from).filter((l) => l.startsWith("seen "))).toEqual([]);
    for (const p of [thief, holder]) p.kill("SIGTERM");
    await Promise.all([thief.exited(), holder.exited()]);
  }, 20_000);
});
