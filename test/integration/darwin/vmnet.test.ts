/**
 * The macOS code paths (src/platform/darwin, ffi/vmnet, shims/vmnet-trampolines.c) on Linux, against
 * the vmnet double (test/doubles), inside a namespace this file creates: a bridge "vd0" backs vmnet
 * (VMLAN_DOUBLE_BRIDGE), a fake guest (test/support/fake-guest.ts) sits on another TAP of it.
 * The code under test runs in a child (vmnet-run.ts) via `ip netns exec`, never in the root namespace.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildVmnet, type VmnetBuild } from "../../doubles/build.ts";
import { type Guest, startGuest } from "../../support/guests.ts";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";

let ns: Netns;
let build: VmnetBuild;
let guest: Guest;
const BRIDGE = "vd0";
const GUEST = { ip: "10.77.0.50", mac: "02:00:00:77:00:50" };
const ID = "2835E074-9892-4A79-AFFB-7E41D2605678";
/** The double needs Linux (TAPs, namespaces); on a Mac, macos.test.ts runs the real thing. */
const linux = process.platform === "linux";

interface Run { code: number; lines: Record<string, unknown>[]; stderr: string }
function run(scenario: string, arg: unknown, env: Record<string, string> = {}): Run {
  const r = ns.run([BUN, "test/integration/darwin/vmnet-run.ts", scenario, JSON.stringify(arg)], {
    env: { ...build.env, VMLAN_DOUBLE_BRIDGE: BRIDGE, ...env },
  });
  const lines = r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code: r.code, lines, stderr: r.stderr };
}
const find = (r: Run, key: string) => r.lines.find((l) => key in l)?.[key];

beforeAll(async () => {
  if (!linux) return;
  build = buildVmnet();
  ns = createNetns();
  ns.sh(["ip", "link", "add", BRIDGE, "type", "bridge"]);
  ns.sh(["ip", "link", "set", BRIDGE, "up"]);
  guest = await startGuest(ns, { bridge: BRIDGE, ...GUEST });
});

afterAll(async () => {
  await guest?.stop();
  ns?.delete();
});

describe.skipIf(!linux)("vmnet interface on the double", () => {
  test("start → interface_param JSON; frames reach the bridge; replies come back after the event pump signals", () => {
    const r = run("traffic", { guestIp: GUEST.ip, myIp: "10.77.0.2", interfaceId: ID });
    expect(r.stderr).not.toContain("VIOLATION");
    expect(r.code).toBe(0);
    const params = find(r, "params") as Record<string, unknown>;
    expect(params).toMatchObject({
      vmnet_mtu: 1500, vmnet_max_packet_size: 1514, vmnet_read_max_packets: 256, vmnet_write_max_packets: 256,
      vmnet_interface_id: ID, vmnet_start_address: "192.168.64.1", vmnet_end_address: "192.168.64.254", vmnet_subnet_mask: "255.255.255.0",
    });
    expect(String(params.vmnet_mac_address)).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    expect(find(r, "sameMac")).toBe(true); // the same interface id gives the same MAC
    expect(find(r, "sentArp")).toBe(1);
    expect(find(r, "arp")).toBe(GUEST.mac); // the fake guest answered our ARP through the bridge
    expect(find(r, "arpWoke")).toBe(true); // ...and the reply was announced on the event pipe
    expect(find(r, "sentPing")).toBe(1);
    expect(find(r, "ping")).toBe(true);
    expect(find(r, "pingWoke")).toBe(true);
    expect(find(r, "burstSent")).toBe(20); // one vmnet_write with 20 descriptors
    expect(find(r, "burstReplies")).toBe(20); // all answered, read back in batches
    expect(find(r, "drops")).toBe(0);
    expect(r.lines.at(-1)).toEqual({ done: true, violations: 0 });
  });

  test("two iovecs for one packet: VMNET_INVALID_ARGUMENT and a reported violation", () => {
    const r = run("bad-write", {});
    expect(r.code).toBe(0);
    expect(find(r, "status")).toBe(1003);
    expect(r.stderr).toContain("vmnet-double: VIOLATION vmnet_write: packet 0 has 2 iovecs");
    expect(r.lines.at(-1)).toEqual({ done: true, violations: 1 });
  });

  test("VMLAN_DOUBLE_ABORT=1 turns a violation into abort()", () => {
    const r = run("bad-write", {}, { VMLAN_DOUBLE_ABORT: "1" });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("VIOLATION");
    expect(find(r, "done")).toBeUndefined();
  });
});

describe.skipIf(!linux)("the event pump after stop (review F12)", () => {
  test("an event block vmnet runs after the stop writes nothing into the reused descriptors", () => {
    const r = run("late-event", {}, { VMLAN_DOUBLE_LATE_EVENT: "1" });
    expect(r.stderr).not.toContain("VIOLATION");
    expect(find(r, "reused")).toBe(true); // the new socketpair got the event pipe's numbers
    expect(find(r, "late")).toBe(1); // the old block did run, after the stop
    expect(find(r, "stray")).toBe(-1); // and wrote nothing (EAGAIN on both ends)
    expect(r.lines.at(-1)).toEqual({ done: true, violations: 0 });
  });
});

describe.skipIf(!linux)("macOS 26 network on the double", () => {
  test("create → serialize → recreate → start_with_network: net_* keys and traffic", () => {
    const r = run("network", { guestIp: GUEST.ip, myIp: "10.77.0.3" });
    expect(r.stderr).not.toContain("VIOLATION");
    expect(r.code).toBe(0);
    const params = find(r, "params") as Record<string, unknown>;
    expect(params).toMatchObject({
      vmnet_mtu: 1500, vmnet_max_packet_size: 1514,
      net_ipv4_subnet: "10.78.0.1", net_ipv4_mask: "255.255.255.0", net_ipv6_prefix: "fd00:78::", net_ipv6_prefix_len: 64,
    });
    expect(params.vmnet_start_address).toBeUndefined(); // not reported with a network (vmnet-helper docs)
    expect(find(r, "ping")).toBe(true);
    expect(r.lines.at(-1)).toEqual({ done: true, violations: 0 });
  });
});
