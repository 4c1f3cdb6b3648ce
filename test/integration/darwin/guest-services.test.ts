/**
 * DHCP and DNS for guests on macOS 26 (docs/macos.md "DHCP and DNS for guests"), on the darwin
 * platform against the vmnet double, in namespaces this file creates. The bridge "vd1" starts with no
 * address, like a vmnet network before its first interface; the double gives the host the network's
 * gateway on it when the first interface starts (as vmnet does), and `vmlan services run` (darwin
 * platform) finds the bridge by that address and serves it: a real DHCP client (busybox udhcpc) in a
 * guest namespace, whose eth0 reaches the network through a darwin `vmlan helper` (test/support/
 * dgram-tap.ts: TAP ↔ the helper's datagram socket ↔ vmnet), gets exactly IPAM's address, and the
 * guest's name resolves from the guest and from the host (dig at the gateway).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { libc } from "../../../ffi/libc/load.ts";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM } from "../../../ffi/libc/constants.ts";
import { buildVmnet, type VmnetBuild } from "../../doubles/build.ts";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";
import { LineProc } from "../helper/proc.ts";
import { udhcpc } from "../services/support.ts";
import { servicesStatus } from "../../../src/services/control.ts";

const ROOT = join(import.meta.dir, "..", "..", "..");
const MAIN = join(ROOT, "src", "main.ts");
const TAP = join(ROOT, "test", "support", "dgram-tap.ts");
const linux = process.platform === "linux";

let ns: Netns;
let guest: Netns;
let guest2: Netns;
let build: VmnetBuild;
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-dservices-"));
const procs: LineProc[] = [];
const track = (p: LineProc) => (procs.push(p), p);
// The double puts every interface on one bridge; vmnet gives each network its own (the second test's is vd2).
const denv = (bridge = "vd1") => ({ ...build.env, VMLAN_STATE_DIR: stateDir, VMLAN_PLATFORM: "darwin-double", VMLAN_DARWIN_VERSION: "26", VMLAN_DOUBLE_BRIDGE: bridge, VMLAN_VMNET_BROKER: "none", VMLAN_TEST_NETNS: ns.name });
const darwin = (args: string[], fds: number[] = [], bridge?: string) => track(new LineProc(["ip", "netns", "exec", ns.name, BUN, MAIN, ...args], denv(bridge), fds));

beforeAll(async () => {
  if (!linux) return;
  build = buildVmnet();
  ns = createNetns();
  guest = createNetns();
  guest2 = createNetns();
  for (const br of ["vd1", "vd2"]) {
    ns.sh(["ip", "link", "add", br, "type", "bridge"]);
    ns.sh(["ip", "link", "set", br, "up"]);
  }
  const create = darwin(["network", "create", "g", "--subnet", "10.85.0.0/24", "--mode", "host"]);
  if ((await create.exited()) !== 0) throw new Error(`network create: ${create.err.join("\n")}`);
});
afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
  const daemon = linux ? servicesStatus(stateDir).pid : null;
  if (daemon) process.kill(daemon, "SIGKILL");
  guest?.delete();
  guest2?.delete();
  ns?.delete();
  rmSync(stateDir, { recursive: true, force: true });
});

describe.skipIf(!linux)("vmlan's DHCP and DNS on a vmnet network (darwin platform, vmnet double)", () => {
  test("a DHCP client behind a darwin helper gets IPAM's address; its name resolves at the gateway for it and for the host", async () => {
    expect(ns.run(["ip", "link", "show", "vl-g"]).code).not.toBe(0); // the stored bridge name is vmlan's; vmnet names its own
    const daemon = darwin(["services", "run"]);
    await daemon.waitFor(/running as pid/, { stream: "err" });
    expect(ns.run(["ip", "-4", "-o", "addr", "show", "dev", "vd1"]).stdout).not.toContain("10.85.0.1"); // no interface yet: nothing to serve

    const sv = new Int32Array(2);
    expect(libc().socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv)).toBe(0);
    const helper = darwin(["helper", "--fd", "3", "--network", "g", "--id", "web"], [sv[1]!]);
    const line = JSON.parse(await helper.waitFor(/^\{/, { timeoutMs: 20_000 })) as Record<string, string | number>;
    libc().close(sv[1]!);
    expect(ns.run(["ip", "-4", "-o", "addr", "show", "dev", "vd1"]).stdout).toContain("10.85.0.1/24"); // vmnet's host address, from the double
    const tap = track(new LineProc(["ip", "netns", "exec", guest.name, BUN, TAP, "--mac", String(line.vmlan_mac)], { VMLAN_TEST_NETNS: guest.name }, [sv[0]!]));
    libc().close(sv[0]!);
    await tap.waitFor(/^ready/);

    await daemon.waitFor(/dhcp\[g\]|services\[g\]/, { stream: "err" }).catch(() => ""); // whatever it logs; the exchange below is the proof
    const { lease, output } = udhcpc(guest, { tries: 10 });
    expect(lease, output).not.toBeNull();
    expect(lease!.ip).toBe(String(line.vmlan_address)); // exactly the address IPAM gave the helper's lease
    expect([lease!.router, lease!.dns, lease!.serverid]).toEqual(["10.85.0.1", "10.85.0.1", "10.85.0.1"]); // the gateway: vmnet's host address
    expect(lease!.domain).toBe("g.vmlan");

    guest.sh(["ip", "addr", "add", `${lease!.ip}/24`, "dev", "eth0"]);
    const fromGuest = guest.run(["dig", "+short", "+time=2", "+tries=3", "@10.85.0.1", "web.g.vmlan"]);
    expect(fromGuest.stdout.trim()).toBe(lease!.ip);
    const fromHost = ns.run(["dig", "+short", "+time=2", "+tries=3", "@10.85.0.1", "-x", lease!.ip]);
    expect(fromHost.stdout.trim()).toBe("web.g.vmlan.");
    expect(daemon.err.join("\n")).not.toMatch(/crashed|failed/);

    helper.kill("SIGTERM");
    expect(await helper.exited()).toBe(0);
    daemon.kill("SIGTERM");
    expect(await daemon.exited()).toBe(0);
  });

  test("a helper started as vmnet-helper would be (vmlan picks the network) starts the daemon itself, as on Linux: DHCP without system start", async () => {
    expect(servicesStatus(stateDir).running).toBe(false); // the first test's daemon is gone
    const sv = new Int32Array(2);
    expect(libc().socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv)).toBe(0);
    const helper = darwin(["helper", "--fd", "3", "--operation-mode", "shared", "--id", "api"], [sv[1]!], "vd2"); // no --network: vmnet-helper's default
    const line = JSON.parse(await helper.waitFor(/^\{/, { timeoutMs: 20_000 })) as Record<string, string | number>;
    libc().close(sv[1]!);
    expect(line.vmlan_network).toBe("default");
    expect(servicesStatus(stateDir).running).toBe(true);
    const tap = track(new LineProc(["ip", "netns", "exec", guest2.name, BUN, TAP, "--mac", String(line.vmlan_mac)], { VMLAN_TEST_NETNS: guest2.name }, [sv[0]!]));
    libc().close(sv[0]!);
    await tap.waitFor(/^ready/);
    const { lease, output } = udhcpc(guest2, { tries: 10 });
    expect(lease, output).not.toBeNull();
    expect([lease!.ip, lease!.router]).toEqual([String(line.vmlan_address), String(line.vmlan_gateway)]);
    helper.kill("SIGTERM");
    expect(await helper.exited()).toBe(0);
  });
});
