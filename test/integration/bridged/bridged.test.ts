/**
 * Bridged networks through the compiled binary, on a LAN of namespaces (support.ts): the uplink's
 * addresses and routes move to the bridge and come back, a guest gets its address from the LAN's own
 * DHCP server (busybox udhcpd) with a real client (busybox udhcpc) and reaches it, bad uplinks are
 * refused with nothing changed, and a half-done move is repaired from the store's record.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { BridgedLan, CONFIGURE_SCRIPT, LAN, removeScripts } from "./support.ts";
import { networkRules } from "../../support/nat-rules.ts";

let lan: BridgedLan;
const TIMEOUT_MS = 40_000;
/** up0 as the host had it before any bridged network: what every removal must give back. */
let original: { addrs: string[]; routes: string[] };

beforeAll(async () => {
  lan = new BridgedLan();
  lan.startDhcpServer();
  original = { addrs: lan.addrs("up0"), routes: lan.routes() };
  expect(original.addrs).toEqual([`${LAN.host}/24`, `${LAN.second}/24`, `${LAN.host6}/64`]);
  expect(original.routes).toEqual([`10.96.0.0/24 via ${LAN.router} dev up0 table 100`, `10.98.0.0/24 via ${LAN.router} dev up0 metric 50`, `default via ${LAN.router} dev up0`]);
  expect((await lan.vmlan("system", "start")).exitCode).toBe(0); // the services daemon runs: it must leave the bridged network alone
}, TIMEOUT_MS);

afterAll(async () => {
  await lan?.vmlan("system", "stop");
  lan?.close();
  removeScripts();
}, TIMEOUT_MS);

describe("bridged networks", () => {
  test("bad uplinks and options are refused with one line and the right exit code; nothing changes", async () => {
    expect((await lan.vmlan("network", "create", "hostnet", "--mode", "host", "--subnet", "10.97.0.0/24")).exitCode).toBe(0);
    lan.host.sh(["ip", "link", "add", "br9", "type", "bridge"]);
    lan.host.sh(["ip", "link", "add", "sl0", "type", "veth", "peer", "name", "sl1"]);
    lan.host.sh(["ip", "link", "set", "sl0", "master", "br9"]);
    const before = lan.snapshot();
    const cases: [string[], number, string][] = [
      [["--uplink", "nosuch0"], 3, `no interface named "nosuch0"`],
      [["--uplink", "lo"], 2, `uplink "lo" is the loopback interface`],
      [["--uplink", "vl-hostnet"], 2, `uplink "vl-hostnet" is vmlan's own bridge of network "hostnet"`],
      [["--uplink", "br9"], 2, `uplink "br9" is a bridge`],
      [["--uplink", "sl0"], 4, `uplink "sl0" is already enslaved to bridge "br9"`],
      [["--uplink", "a/b"], 2, `invalid interface name "a/b"`],
      [["--uplink", "bad\u0007"], 2, `invalid interface name "bad\\x07"`],
      [[], 2, "a bridged network needs an uplink: --uplink IF"],
      [["--uplink", "up0", "--dhcp"], 2, "vmlan's DHCP cannot serve a bridged network"],
      [["--uplink", "up0", "--subnet-v6", "fd99::/64"], 2, "not used on a bridged network"],
      [["--uplink", "up0", "--mtu", "9000"], 2, "MTU 9000 is larger than the MTU of uplink up0 (1500)"],
    ];
    for (const [extra, code, msg] of cases) {
      const r = await lan.vmlan("network", "create", "bad", "--mode", "bridged", ...extra);
      expect({ extra, code: r.exitCode }).toEqual({ extra, code });
      expect(r.stderr.trim().split("\n")).toEqual([expect.stringContaining(msg)]);
    }
    const shared = await lan.vmlan("network", "create", "bad", "--uplink", "up0");
    expect(shared.exitCode).toBe(2);
    expect(shared.stderr).toContain(`uplink "up0" is only for bridged networks (this one is shared)`);
    expect(lan.snapshot()).toBe(before);
    expect((await lan.vmlan("network", "ls", "-q")).stdout.split("\n")).not.toContain("bad");
    const uplinks = await lan.json<{ name: string }[]>("network", "uplinks");
    expect(uplinks.map((u) => u.name)).toContain("up0");
    for (const no of ["lo", "br9", "sl0", "vl-hostnet", "vl-default"]) expect(uplinks.map((u) => u.name)).not.toContain(no);
  }, TIMEOUT_MS);

  test("create enslaves the uplink; its addresses and routes move to the bridge, which keeps the uplink's MAC", async () => {
    lan.host.sh(["sysctl", "-q", "-w", "net.ipv6.conf.up0.accept_ra=2"]); // RAs even while forwarding: the bridge must keep that
    const net = await lan.json("network", "create", "lan", "--mode", "bridged", "--uplink", "up0");
    expect(net).toMatchObject({
      name: "lan", mode: "bridged", uplink: "up0", subnet: LAN.subnet, gateway: LAN.router, subnetV6: null, bridge: "vlb-lan", mtu: 1500, dhcp: false, outcome: "created",
    });
    expect(lan.link("up0")!.master).toBe("vlb-lan");
    expect(lan.link("vlb-lan")!.address).toBe(lan.link("up0")!.address);
    expect(lan.host.sh(["sysctl", "-n", "net.ipv6.conf.vlb-lan.accept_ra"]).trim()).toBe("2");
    expect(lan.addrs("up0")).toEqual([]);
    expect(lan.addrs("vlb-lan")).toEqual(original.addrs);
    expect(lan.routes()).toEqual([`10.96.0.0/24 via ${LAN.router} dev vlb-lan table 100`, `10.98.0.0/24 via ${LAN.router} dev vlb-lan metric 50`, `default via ${LAN.router} dev vlb-lan`]);
    // The uplink's address works from the bridge: the LAN's router answers the host.
    expect(lan.host.run(["ping", "-c", "1", "-W", "2", LAN.router]).code).toBe(0);
    expect(lan.host.run(["ping", "-6", "-c", "1", "-W", "2", LAN.router6]).code).toBe(0);
    expect(networkRules(lan.host, "vlb-lan")).toBe(""); // no NAT, no isolation rules
    expect(lan.host.run(["nft", "list", "table", "inet", "vmlan_vlb-lan"]).code).not.toBe(0);
    const [view] = await lan.json("network", "inspect", "lan");
    expect(view).toMatchObject({ mode: "bridged", uplink: "up0", host: { up: true, nat: false } });
    expect(view.moved.addresses.map((a: { address: string }) => a.address)).toEqual([LAN.host, LAN.second, LAN.host6]);
    expect(view.moved.routes).toHaveLength(3);
    const table = (await lan.vmlan("network", "ls")).stdout;
    expect(table).toMatch(/^lan\s+bridged\s+10\.99\.0\.0\/24\s+10\.99\.0\.1\s+-\s+vlb-lan\s+up0\s/m);
    const again = await lan.vmlan("network", "create", "lan", "--mode", "bridged", "--uplink", "up0");
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toContain(`network "lan" unchanged`);
    expect(lan.addrs("vlb-lan")).toEqual(original.addrs);
  }, TIMEOUT_MS);

  test("a guest gets its address from the LAN's DHCP server, reaches it and the host; vmlan attachments give MACs only", async () => {
    const a = await lan.json("attach", "lan", "--id", "g1");
    expect(a).toMatchObject({ network: "lan", id: "g1", address: null, gateway: null, prefixLength: null, mtu: 1500 });
    expect(a.mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    const ip = await lan.vmlan("attach", "lan", "--id", "g2", "--ip", "10.99.0.50");
    expect(ip.exitCode).toBe(2);
    expect(ip.stderr).toContain("the LAN's DHCP server assigns the addresses there");
    const guest = lan.cable("vlb-lan", "g1h", a.mac);
    const r = guest.run(["busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "6", "-T", "1", "-A", "1", "-s", CONFIGURE_SCRIPT]);
    const bound = r.stdout.split("\n").find((l) => l.startsWith("event=bound "));
    expect(bound, r.stdout + r.stderr).toBeDefined();
    const lease = Object.fromEntries(bound!.split(" ").slice(1).map((kv) => kv.split("=") as [string, string]));
    expect(lease).toMatchObject({ router: LAN.router, serverid: LAN.router, mask: "24" });
    const last = Number(lease.ip!.split(".")[3]);
    expect(lease.ip!.startsWith("10.99.0.") && last >= LAN.poolStart && last <= LAN.poolEnd).toBe(true);
    expect(guest.run(["ping", "-c", "1", "-W", "2", LAN.router]).code).toBe(0);
    expect(guest.run(["ping", "-c", "1", "-W", "2", LAN.host]).code).toBe(0);
    // The LAN sees the guest as one of its hosts, at the MAC vmlan handed out.
    const neigh = lan.lan.ipJson<{ dst: string; lladdr?: string }[]>(["neigh", "show", "dev", "lan0"]);
    expect(neigh).toContainEqual(expect.objectContaining({ dst: lease.ip, lladdr: a.mac }));
    // vmlan's own services never serve the bridged network (the daemon did start for "default").
    const log = await Bun.file(`${lan.stateDir}/services.log`).text();
    expect(log).toContain("dhcp[default]: listening");
    expect(log).not.toContain("[lan]");
  }, TIMEOUT_MS);

  test("system stop gives the uplink back; system start moves it again; the record is cleared in between", async () => {
    expect((await lan.vmlan("system", "stop")).exitCode).toBe(0);
    expect(lan.link("vlb-lan")).toBeNull();
    expect(lan.link("up0")!.master).toBeUndefined();
    expect(lan.addrs("up0")).toEqual(original.addrs);
    expect(lan.routes()).toEqual(original.routes);
    expect((await lan.json("network", "inspect", "lan"))[0].moved).toBeNull();
    expect((await lan.vmlan("system", "start")).exitCode).toBe(0);
    expect(lan.link("up0")!.master).toBe("vlb-lan");
    expect(lan.addrs("vlb-lan")).toEqual(original.addrs);
    expect(lan.routes()).toEqual([`10.96.0.0/24 via ${LAN.router} dev vlb-lan table 100`, `10.98.0.0/24 via ${LAN.router} dev vlb-lan metric 50`, `default via ${LAN.router} dev vlb-lan`]);
  }, TIMEOUT_MS);

  test("after a crash that lost the bridge with everything on it, rm gives the uplink its addresses and routes back from the store", async () => {
    // What a crash can leave: the bridge (and with it the moved addresses and routes) gone, the record in the store.
    lan.host.sh(["ip", "link", "del", "vlb-lan"]);
    expect(lan.addrs("up0")).toEqual([]);
    const rm = await lan.vmlan("network", "rm", "lan", "--force");
    expect(rm.exitCode, rm.stderr).toBe(0);
    expect(lan.addrs("up0")).toEqual(original.addrs);
    expect(lan.routes()).toEqual(original.routes);
    expect(lan.host.run(["ping", "-c", "1", "-W", "2", LAN.router]).code).toBe(0);
    expect((await lan.vmlan("network", "ls", "-q")).stdout.split("\n")).not.toContain("lan");
  }, TIMEOUT_MS);

  test("a half-restored uplink (released, one address back by hand) is finished by rm", async () => {
    expect((await lan.vmlan("network", "create", "lan", "--mode", "bridged", "--uplink", "up0")).exitCode).toBe(0);
    lan.host.sh(["ip", "link", "set", "up0", "nomaster"]);
    lan.host.sh(["ip", "addr", "del", `${LAN.host6}/64`, "dev", "vlb-lan"]);
    lan.host.sh(["ip", "addr", "add", `${LAN.host6}/64`, "dev", "up0", "nodad"]);
    expect((await lan.vmlan("network", "rm", "lan")).exitCode).toBe(0);
    expect(lan.link("vlb-lan")).toBeNull();
    expect(lan.addrs("up0").sort()).toEqual([...original.addrs].sort());
    expect(lan.routes()).toEqual(original.routes);
  }, TIMEOUT_MS);

  test("export and apply round-trip a bridged network", async () => {
    expect((await lan.vmlan("network", "create", "lan", "--mode", "bridged", "--uplink", "up0", "--label", "site=home")).exitCode).toBe(0);
    expect((await lan.vmlan("attach", "lan", "--id", "vm1")).exitCode).toBe(0);
    const doc = await lan.json("export");
    const exported = doc.networks.find((n: { name: string }) => n.name === "lan");
    expect(exported).toMatchObject({ name: "lan", mode: "bridged", uplink: "up0", subnet: LAN.subnet, labels: { site: "home" } });
    expect(exported.attachments).toEqual([expect.objectContaining({ id: "vm1" })]);
    expect(exported.attachments[0].ip).toBeUndefined();
    const file = `${lan.dir}/net.json`;
    await Bun.write(file, JSON.stringify(doc));
    const applied = await lan.json("apply", "-f", file);
    expect(applied.items.filter((i: { name: string }) => i.name === "lan")[0]).toMatchObject({ action: "unchanged" });
    expect((await lan.vmlan("network", "rm", "lan", "--force")).exitCode).toBe(0);
    const fresh = await lan.json("apply", "-f", file);
    expect(fresh.items.find((i: { name: string }) => i.name === "lan")).toMatchObject({ action: "create" });
    expect(lan.link("up0")!.master).toBe("vlb-lan");
    expect((await lan.json("attachments", "lan"))[0]).toMatchObject({ id: "vm1", mac: exported.attachments[0].mac, address: null });
    expect((await lan.vmlan("network", "rm", "lan", "--force")).exitCode).toBe(0);
    expect(lan.addrs("up0")).toEqual(original.addrs);
  }, TIMEOUT_MS);
});
