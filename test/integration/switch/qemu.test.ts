/**
 * Real QEMU guests (TCG) on stream switches, three booted together (about 15 s on 2 cores), all on
 * one vmlan network:
 *  - `-netdev stream` to the binary started as `socket_vmnet --vmnet-gateway=... --vmnet-dhcp-end=...`
 *    (which creates the network and starts vmlan's DHCP),
 *  - `socket_vmnet_client SOCKET qemu ... -netdev socket,id=n0,fd=3` to the same socket_vmnet,
 *  - `-netdev stream` to `vmlan switch --network` of that network.
 * Each takes its address by DHCP (busybox udhcpc in the guest) inside the range, and they reach the
 * gateway and each other. A guest whose QEMU is killed frees its port and lease.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ensureGuestImage, IMAGE_BUILD_TIMEOUT_MS } from "../../support/vm.ts";
import { QemuGuest } from "../../support/qemu-guest.ts";
import { CompatHost } from "../compat/support.ts";
import { vmlanIn } from "../helper/proc.ts";

const GW = "10.78.0.1";
const BOOT_MS = 120_000;
let h: CompatHost;
let network = "";
const guests: QemuGuest[] = [];
let addresses: string[] = [];

type Att = { id: string; mac: string; address: string; state: string };
async function lease(mac: string): Promise<Att | undefined> {
  const r = await h.vmlan("attachments", network, "--all", "--format", "json");
  return (JSON.parse(r.stdout) as Att[]).find((a) => a.mac === mac);
}

beforeAll(async () => {
  await ensureGuestImage();
  h = await new CompatHost().install();
  const sv = h.start("socket_vmnet", [`--vmnet-gateway=${GW}`, "--vmnet-dhcp-end=10.78.0.100", h.sock("sv")]);
  network = (await sv.waitFor(/\* vmlan_network: /, { stream: "err", timeoutMs: 20_000 })).split(": ")[1]!;
  await sv.waitFor(/\* vmlan_pid: /, { stream: "err" });
  const sw = vmlanIn(h.ns.name, ["switch", "--socket", h.sock("sw"), "--network", network], h.env);
  h.procs.push(sw);
  await sw.waitFor(/"vmlan_socket"/);
  const inNs = ["ip", "netns", "exec", h.ns.name];
  const stream = (sock: string) => `stream,id=n0,server=off,addr.type=unix,addr.path=${sock}`;
  guests.push(
    new QemuGuest(inNs, stream(h.sock("sv")), "52:54:00:78:00:01"),
    new QemuGuest([...inNs, join(h.bin, "socket_vmnet_client"), h.sock("sv")], "socket,id=n0,fd=3", "52:54:00:78:00:02"),
    new QemuGuest(inNs, stream(h.sock("sw")), "52:54:00:78:00:03"),
  );
  try {
    addresses = await Promise.all(guests.map((g) => g.dhcp(BOOT_MS)));
  } catch (e) {
    throw new Error(`${(e as Error).message}; socket_vmnet: ${sv.err.join(" | ")}; switch: ${sw.err.join(" | ")}; qemu: ${(await Promise.all(guests.map((g) => g.stderr()))).join(" | ")}`);
  }
}, IMAGE_BUILD_TIMEOUT_MS + BOOT_MS);

afterAll(async () => {
  for (const g of guests) g.kill();
  await h?.stop();
}, 30_000);

describe("QEMU on socket_vmnet (-netdev stream, socket_vmnet_client + -netdev socket,fd=3) and vmlan switch", () => {
  test("each guest gets its address from vmlan's DHCP inside the DHCP range, as IPAM records it for its MAC", async () => {
    for (const [i, g] of guests.entries()) {
      const last = Number(addresses[i]!.split(".")[3]);
      expect(addresses[i]!.startsWith("10.78.0.") && last >= 2 && last <= 100).toBe(true);
      expect(await lease(g.mac)).toMatchObject({ address: addresses[i], state: "active" });
    }
    expect(new Set(addresses).size).toBe(guests.length);
  });

  test("they reach the gateway and each other", async () => {
    for (const [i, g] of guests.entries()) {
      expect(await g.ping(GW)).toBe(true);
      expect(await g.ping(addresses[(i + 1) % guests.length]!)).toBe(true);
    }
  }, 90_000);

  test("a guest whose QEMU is killed frees its port and its lease; the others keep working", async () => {
    const dead = guests[1]!; // under socket_vmnet_client: QEMU is that process, exec'd
    dead.kill("SIGKILL");
    await dead.proc.exited;
    const end = Date.now() + 10_000;
    while ((await lease(dead.mac))?.state !== "released" && Date.now() < end) await Bun.sleep(100);
    expect((await lease(dead.mac))?.state).toBe("released");
    for (const g of [guests[0]!, guests[2]!]) expect(await g.ping(GW)).toBe(true);
  }, 60_000);
});
