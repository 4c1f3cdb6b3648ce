/**
 * Real QEMU guests on stream switches, booted together (TCG; about 10-15 s for all on 2 cores):
 * `-netdev stream` to `vmlan switch`. Each guest takes its address by DHCP from vmlan's services
 * (busybox udhcpc in the guest), and they reach the gateway and each other. A guest whose QEMU is
 * killed frees its port and its lease.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ensureGuestImage, IMAGE_BUILD_TIMEOUT_MS } from "../../support/vm.ts";
import { QemuGuest } from "../../support/qemu-guest.ts";
import { Host } from "../services/support.ts";
import { type LineProc, vmlanIn } from "../helper/proc.ts";

const GW = "10.76.0.1";
const BOOT_MS = 90_000;
let host: Host;
const procs: LineProc[] = [];
const guests: QemuGuest[] = [];
let addresses: string[] = [];

type Att = { id: string; mac: string; address: string; state: string };
async function lease(mac: string): Promise<Att | undefined> {
  return (await host.json<Att[]>("attachments", "sq", "--all")).find((a) => a.mac === mac);
}

beforeAll(async () => {
  await ensureGuestImage();
  host = new Host();
  await host.ok("system", "start");
  await host.ok("network", "create", "sq", "--subnet", "10.76.0.0/24", "--mode", "host");
  await host.waitLog(/dhcp\[sq\]: listening/);
  const sock = join(host.stateDir, "sq.sock");
  const sw = vmlanIn(host.ns.name, ["switch", "--socket", sock, "--network", "sq"], { VMLAN_STATE_DIR: host.stateDir });
  procs.push(sw);
  await sw.waitFor(/"vmlan_socket"/);
  const inNs = ["ip", "netns", "exec", host.ns.name];
  const stream = `stream,id=n0,server=off,addr.type=unix,addr.path=${sock}`;
  guests.push(new QemuGuest(inNs, stream, "52:54:00:76:00:01"), new QemuGuest(inNs, stream, "52:54:00:76:00:02"));
  try {
    addresses = await Promise.all(guests.map((g) => g.dhcp(BOOT_MS)));
  } catch (e) {
    throw new Error(`${(e as Error).message}; switch: ${sw.err.join(" | ")}; qemu: ${(await Promise.all(guests.map((g) => g.stderr()))).join(" | ")}`);
  }
}, IMAGE_BUILD_TIMEOUT_MS + BOOT_MS);

afterAll(async () => {
  for (const g of guests) g.kill();
  for (const p of procs) p.kill("SIGKILL");
  await host?.close();
}, 30_000);

describe("QEMU -netdev stream on vmlan switch", () => {
  test("the guests get their addresses from vmlan's DHCP, as IPAM records them for their MACs", async () => {
    for (const [i, g] of guests.entries()) {
      expect(addresses[i]).toMatch(/^10\.76\.0\.\d+$/);
      expect(await lease(g.mac)).toMatchObject({ address: addresses[i], state: "active" });
    }
    expect(new Set(addresses).size).toBe(guests.length);
  });

  test("they reach the gateway and each other", async () => {
    for (const [i, g] of guests.entries()) {
      expect(await g.ping(GW)).toBe(true);
      expect(await g.ping(addresses[(i + 1) % guests.length]!)).toBe(true);
    }
  }, 60_000);

  test("a guest whose QEMU is killed frees its port and its lease; the other keeps working", async () => {
    const [dead, alive] = guests as [QemuGuest, QemuGuest];
    dead.kill("SIGKILL");
    await dead.proc.exited;
    const end = Date.now() + 10_000;
    while ((await lease(dead.mac))?.state !== "released" && Date.now() < end) await Bun.sleep(100);
    expect((await lease(dead.mac))?.state).toBe("released");
    const r = await alive.console.run(`ping -c 2 -W 3 ${GW}`, 20_000);
    expect(r.code, `${r.output.join(" | ")}; switch: ${procs[0]!.err.join(" | ")}`).toBe(0);
  }, 30_000);
});
