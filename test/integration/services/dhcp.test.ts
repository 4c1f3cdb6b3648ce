/**
 * DHCP through the compiled binary: `vmlan system start` runs the services daemon inside a test
 * namespace; guests are other namespaces cabled to the bridge with a veth pair and run busybox
 * udhcpc, a real client. What IPAM shows (`vmlan attachments`) is what the client gets.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { BUN } from "../../support/netns.ts";
import { Host, removeScriptDir, udhcpc } from "./support.ts";

let host: Host;
/** Each test runs several binaries and DHCP exchanges (udhcpc retries once per second). */
const TIMEOUT_MS = 30_000;

beforeAll(async () => {
  host = new Host();
  await host.ok("system", "start");
  await host.ok("network", "create", "dhcpnet", "--subnet", "10.91.1.0/24", "--mtu", "1400");
  await host.ok("network", "create", "tiny", "--subnet", "10.91.2.0/30");
  await host.ok("network", "create", "quiet", "--subnet", "10.91.3.0/24", "--no-dhcp");
  await host.waitLog(/dhcp\[tiny\]: listening/);
}, TIMEOUT_MS);

afterAll(async () => {
  await host?.close();
  removeScriptDir();
}, TIMEOUT_MS);

type Att = { id: string; mac: string; address: string; hostname: string; state: string };

describe("DHCP server on each network's bridge", () => {
  test("an unknown client gets the address IPAM records for its MAC, with router, DNS, mask, MTU, hostname, domain, lease time", async () => {
    const guest = host.cable("vl-dhcpnet", "g1", "02:91:00:00:00:01");
    const { lease, output } = udhcpc(guest, { hostname: "guest1" });
    expect(lease, output).not.toBeNull();
    const atts = await host.json<Att[]>("attachments", "dhcpnet");
    expect(atts).toEqual([expect.objectContaining({ id: "mac-029100000001", mac: "02:91:00:00:00:01", state: "active" })]);
    const a = atts[0]!;
    expect(a.address.split("/")[0]).toBe(lease!.ip);
    expect(lease).toMatchObject({ ip: "10.91.1.2", mask: "24", router: "10.91.1.1", dns: "10.91.1.1", serverid: "10.91.1.1", hostname: "guest1", domain: "dhcpnet.vmlan", mtu: "1400", lease: "3600" });
    expect(a.hostname).toBe("guest1");
  }, TIMEOUT_MS);

  test("a MAC that `vmlan attach` handed out gets exactly that attachment's address", async () => {
    await host.ok("attach", "dhcpnet", "--id", "filler"); // so the VM's address is not simply the next free one
    const vm = await host.json<Att>("attach", "dhcpnet", "--id", "vm-a", "--hostname", "vma");
    const guest = host.cable("vl-dhcpnet", "g2", vm.mac);
    const { lease, output } = udhcpc(guest);
    expect(lease?.ip, output).toBe(vm.address.split("/")[0]);
    expect(lease?.hostname).toBe("vma");
  }, TIMEOUT_MS);

  test("the same MAC gets the same address after the daemon and the networks restart", async () => {
    const guest = host.cable("vl-dhcpnet", "g3", "02:91:00:00:00:03");
    const first = udhcpc(guest).lease;
    expect(first).not.toBeNull();
    const pid = host.daemonPid();
    await host.ok("system", "stop");
    expect(host.daemonPid()).toBeNull();
    await host.ok("system", "start");
    expect(host.daemonPid()).not.toBe(pid);
    host.ns.sh(["ip", "link", "set", "g3", "master", "vl-dhcpnet", "up"]); // the bridge was recreated
    await host.waitLog(/dhcp\[dhcpnet\]: listening/);
    const again = udhcpc(guest);
    expect(again.lease?.ip, again.output).toBe(first!.ip);
  }, TIMEOUT_MS);

  test("a full pool (a /30 whose one guest address is taken): no lease, one log line, the daemon stays up", async () => {
    await host.ok("attach", "tiny", "--id", "only");
    const pid = host.daemonPid();
    const guest = host.cable("vl-tiny", "g4", "02:91:00:00:00:04");
    const { lease } = udhcpc(guest, { tries: 2 });
    expect(lease).toBeNull();
    await host.waitLog(/dhcp\[tiny\]: DISCOVER from 02:91:00:00:00:04: no offer: network "tiny" has no free address/);
    const status = await host.json<{ services: { running: boolean; pid: number } }>("system", "status");
    expect(status.services).toMatchObject({ running: true, pid });
    expect(host.log().split("\n").filter((l) => l.includes("02:91:00:00:00:04: no offer")).length).toBe(1);
  }, TIMEOUT_MS);

  test("malformed packets are ignored (counted in the log); a real client still gets a lease afterwards", async () => {
    const pid = host.daemonPid();
    const guest = host.cable("vl-dhcpnet", "g5", "02:91:00:00:00:05");
    guest.sh(["ip", "addr", "add", "10.91.1.250/24", "dev", "eth0"]);
    // Random bytes, a truncated header, and a BOOTREQUEST whose option length runs past the end.
    const code = `
      const s = await Bun.udpSocket({ port: 68 });
      const junk = [crypto.getRandomValues(new Uint8Array(300)), new Uint8Array(100).fill(1)];
      const liar = new Uint8Array(244); liar.set([1, 1, 6], 0); liar.set([99, 130, 83, 99], 236); liar.set([53, 200], 240); junk.push(liar);
      for (let i = 0; i < 20; i++) for (const j of junk) s.send(j, 67, "10.91.1.1");
      await Bun.sleep(100); s.close();`;
    const sent = guest.run([BUN, "-e", code]);
    expect(sent.code, sent.stderr).toBe(0);
    await host.waitLog(/dhcp\[dhcpnet\]: \d+ malformed DHCP packets ignored/);
    guest.sh(["ip", "addr", "flush", "dev", "eth0"]);
    const { lease, output } = udhcpc(guest);
    expect(lease, output).not.toBeNull();
    expect(host.daemonPid()).toBe(pid);
    expect(host.log().match(/malformed DHCP packets ignored/g)!.length).toBeLessThanOrEqual(2); // rate-limited, not one line per packet
  }, TIMEOUT_MS);

  test("RELEASE detaches the attachment (the address stays reserved for that MAC)", async () => {
    const guest = host.cable("vl-dhcpnet", "g6", "02:91:00:00:00:06");
    const proc = guest.spawn(["busybox", "udhcpc", "-i", "eth0", "-f", "-R", "-t", "4", "-T", "1", "-s", "/bin/true"]);
    const end = Date.now() + 8000;
    let att: Att | undefined;
    while (Date.now() < end && !att) {
      att = (await host.json<Att[]>("attachments", "dhcpnet")).find((a) => a.id === "mac-029100000006");
      if (!att) await Bun.sleep(100);
    }
    expect(att?.state).toBe("active");
    // The attachment exists from DISCOVER on; udhcpc sends RELEASE on SIGTERM only once it is bound
    // (ACK received and its script run), so wait for the ACK before stopping it.
    await host.waitLog(/REQUEST from 02:91:00:00:00:06: ack/);
    await Bun.sleep(500);
    guest.sh(["ip", "addr", "add", `${att!.address}`, "dev", "eth0"]); // the client releases from its address
    proc.kill("SIGTERM");
    await proc.exited;
    await host.waitLog(/RELEASE from 02:91:00:00:00:06: released/);
    const all = await host.json<Att[]>("attachments", "dhcpnet", "--all");
    expect(all.find((a) => a.id === "mac-029100000006")).toMatchObject({ state: "released", address: att!.address });
  }, TIMEOUT_MS);

  test("a network created with --no-dhcp gets no DHCP server (and no lease), but still DNS", async () => {
    const guest = host.cable("vl-quiet", "g7", "02:91:00:00:00:07");
    expect(udhcpc(guest, { tries: 2 }).lease).toBeNull();
    expect(host.log()).not.toMatch(/dhcp\[quiet\]/);
    expect(host.log()).toMatch(/dns\[quiet\]: listening/);
    const [net] = await host.json<Array<{ dhcp: boolean }>>("network", "inspect", "quiet");
    expect(net!.dhcp).toBe(false);
  }, TIMEOUT_MS);
});
