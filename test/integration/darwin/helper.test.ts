/**
 * `vmlan helper` on the darwin platform, run from source with the vmnet double (test/doubles) loaded
 * through the documented override (src/platform/index.ts: VMLAN_PLATFORM=darwin-double, honoured only
 * with VMLAN_VMNET_PATH), inside a namespace this file creates. The network "h" is a Linux bridge
 * made by the compiled binary; VMLAN_DOUBLE_BRIDGE puts the double's vmnet TAPs on that bridge, so a
 * VM behind the darwin helper and a VM behind the normal Linux helper meet on one L2 segment.
 * VMLAN_DEBUG_FFI=1 logs each FFI call, which is how the test sees vmnet_stop_interface happen.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { libc } from "../../../ffi/libc/load.ts";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM } from "../../../ffi/libc/constants.ts";
import { buildVmnet, type VmnetBuild } from "../../doubles/build.ts";
import { runVmlan } from "../../support/binary.ts";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";
import { LineProc, vmlanIn } from "../helper/proc.ts";

const ROOT = join(import.meta.dir, "..", "..", "..");
const MAIN = join(ROOT, "src", "main.ts");
const GUEST = join(ROOT, "test", "support", "dgram-guest.ts");
const ID = "2835E074-9892-4A79-AFFB-7E41D2605678";
const linux = process.platform === "linux";

let ns: Netns;
let build: VmnetBuild;
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-dhelper-"));
const sockDir = mkdtempSync(join(tmpdir(), "vmlan-dsock-"));
const env = { VMLAN_STATE_DIR: stateDir };
const procs: LineProc[] = [];
const vmlan = (...args: string[]) => runVmlan(args, { env, netns: ns.name });
type Line = Record<string, string | number>;
const startLine = async (p: LineProc): Promise<Line> => JSON.parse(await p.waitFor(/^\{/)) as Line;
const ping = (ip: string) => ns.run(["ping", "-c", "2", "-i", "0.2", "-W", "1", ip]);
/** The double's TAPs (vmd<N>) on a bridge: one per started vmnet interface. */
const vmnetTaps = (bridge: string) => ns.run(["ip", "-o", "link", "show", "master", bridge]).stdout.split("\n").filter((l) => /: vmd\d+[:@]/.test(l)).length;

function socketpair(): [number, number] {
  const sv = new Int32Array(2);
  if (libc().socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) !== 0) throw new Error("socketpair failed");
  return [sv[0]!, sv[1]!];
}

/** `bun src/main.ts helper --fd 3 ...` on the darwin platform (macOS `version`), inside the namespace. */
function darwinHelper(version: string, bridge: string, vmFd: number, ...args: string[]): LineProc {
  const denv = { ...env, ...build.env, VMLAN_PLATFORM: "darwin-double", VMLAN_DARWIN_VERSION: version, VMLAN_DOUBLE_BRIDGE: bridge, VMLAN_DEBUG_FFI: "1", VMLAN_TEST_NETNS: ns.name };
  const p = new LineProc(["ip", "netns", "exec", ns.name, BUN, MAIN, "helper", "--fd", "3", ...args], denv, [vmFd]);
  procs.push(p);
  return p;
}

function guest(args: string[], fds: number[] = []): LineProc {
  const p = new LineProc([BUN, GUEST, ...args], {}, fds);
  procs.push(p);
  return p;
}

/** Stops a darwin helper with SIGTERM and checks the vmnet side was stopped cleanly. */
async function stopCleanly(h: LineProc, bridge: string): Promise<void> {
  h.kill("SIGTERM");
  expect(await h.exited()).toBe(0);
  const err = h.err.join("\n");
  expect(err).toContain("stopping: received SIGTERM");
  expect(err).toMatch(/ffi: vmnet-shim\.vmlan_vmnet_stop\(\d+\) = 1000/); // vmnet_stop_interface → VMNET_SUCCESS
  expect(err).not.toContain("VIOLATION"); // the double reported no misuse
  expect(vmnetTaps(bridge)).toBe(0);
}

beforeAll(async () => {
  if (!linux) return;
  build = buildVmnet();
  ns = createNetns();
  const r = await vmlan("network", "create", "h", "--subnet", "10.73.0.0/24", "--mode", "host", "--mtu", "1500");
  if (r.exitCode !== 0) throw new Error(`network create: ${r.stderr}`);
});
afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
  ns?.delete();
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(sockDir, { recursive: true, force: true });
});

describe.skipIf(!linux)("vmlan helper on darwin (vmnet double)", () => {
  test("macOS 26: a vmnet network from the store's spec; vmnet-helper keys from interface_param; ping from the host and from a Linux-TAP VM; SIGTERM stops the interface", async () => {
    const [vmEnd, helperEnd] = socketpair();
    const h = darwinHelper("26", "vl-h", helperEnd, "--network", "h", "--id", ID);
    const line = await startLine(h);
    libc().close(helperEnd);
    // vmnet's own keys (with a network: no interface id echo, no DHCP range; net_* from the network)...
    expect(line).toMatchObject({
      vmnet_mtu: 1500, vmnet_max_packet_size: 1514, vmnet_read_max_packets: 256, vmnet_write_max_packets: 256,
      net_ipv4_subnet: "10.73.0.1", net_ipv4_mask: "255.255.255.0",
      vmlan_network: "h", vmlan_gateway: "10.73.0.1", vmlan_prefix_length: 24, vmlan_host_port: "vmnet",
    });
    expect(line.vmnet_start_address).toBeUndefined();
    expect(line.vmlan_tap).toBeUndefined();
    expect(String(line.vmnet_mac_address)).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    // ...and vmlan's lease, which the attachment list agrees with.
    const [att] = JSON.parse((await vmlan("attachments", "--format", "json")).stdout) as Line[];
    expect(att).toMatchObject({ network: "h", id: ID, address: line.vmlan_address, mac: line.vmlan_mac });
    expect(vmnetTaps("vl-h")).toBe(1);

    const vm = guest(["--fd", "3", "--ip", String(line.vmlan_address), "--mac", String(line.vmlan_mac)], [vmEnd]);
    await vm.waitFor(/^ready/);
    libc().close(vmEnd);
    // host → vm through vmnet_read (after the event pipe woke the worker), vm → host through vmnet_write.
    const r = ping(String(line.vmlan_address));
    expect(r.code, r.stdout + r.stderr).toBe(0);

    // A second VM on the same bridge through the normal Linux path (TAP), pinging the first one.
    const sock = join(sockDir, "peer.sock");
    const peer = vmlanIn(ns.name, ["helper", "--socket", sock, "--network", "h", "--id", "linux-peer"], env);
    procs.push(peer);
    const pl = await startLine(peer);
    const g2 = guest(["--socket", sock, "--ip", String(pl.vmlan_address), "--mac", String(pl.vmnet_mac_address), "--ping", String(line.vmlan_address)]);
    expect(await g2.waitFor(/^ping (ok|fail)/)).toBe(`ping ok ${line.vmlan_address}`);

    await stopCleanly(h, "vl-h");
    peer.kill("SIGTERM");
    expect(await peer.exited()).toBe(0);
    vm.kill();
    g2.kill();
    expect(JSON.parse((await vmlan("attachments", "--format", "json")).stdout)).toEqual([]);
  });

  test("macOS 15: named networks are refused with a clear error; nothing is allocated", async () => {
    const [vmEnd, helperEnd] = socketpair();
    const h = darwinHelper("15", "vl-h", helperEnd, "--network", "h", "--id", ID);
    expect(await h.exited()).toBe(2);
    libc().close(vmEnd);
    libc().close(helperEnd);
    expect(h.err.join("\n")).toContain(`macOS 15 has only vmnet's shared network: use the network "default"`);
    expect(h.out).toEqual([]);
    expect(vmnetTaps("vl-h")).toBe(0);
    expect(JSON.parse((await vmlan("attachments", "--format", "json")).stdout)).toEqual([]);
  });

  test("macOS 15: the shared `default` network through the classic API (interface id → same id back, the spec's range)", async () => {
    const r = await vmlan("network", "create", "default", "--subnet", "192.168.64.0/24", "--mode", "shared");
    expect(r.exitCode, r.stderr).toBe(0);
    const [def] = JSON.parse((await vmlan("network", "inspect", "default", "--format", "json")).stdout) as Line[];
    const bridge = String(def!.bridge);
    const [vmEnd, helperEnd] = socketpair();
    const h = darwinHelper("15", bridge, helperEnd, "--network", "default", "--id", ID);
    const line = await startLine(h);
    libc().close(helperEnd);
    expect(line).toMatchObject({
      vmnet_interface_id: ID, vmnet_start_address: "192.168.64.1", vmnet_end_address: "192.168.64.254", vmnet_subnet_mask: "255.255.255.0",
      vmnet_mtu: 1500, vmnet_max_packet_size: 1514, vmlan_network: "default",
    });
    const vm = guest(["--fd", "3", "--ip", String(line.vmlan_address), "--mac", String(line.vmnet_mac_address)], [vmEnd]);
    await vm.waitFor(/^ready/);
    libc().close(vmEnd);
    const p = ping(String(line.vmlan_address));
    expect(p.code, p.stdout + p.stderr).toBe(0);
    await stopCleanly(h, bridge);
    vm.kill();
  });
});
