/**
 * `vmlan broker` as an XPC Mach service (macOS 26) on the darwin platform against the vmnet double,
 * inside a namespace this file creates. The double's Mach services are unix sockets in a directory of
 * this test (VMLAN_DOUBLE_MACH_DIR) and its vmnet reservations are shared by every process through
 * files in another (VMLAN_DOUBLE_STATE_DIR), so "one network in several processes" and "the subnet is
 * free again" can be seen. Clients: `vmlan helper` (from source, darwin platform: acquires the network
 * over XPC, recreates it from the serialization, starts its vmnet interface on it), a C client of
 * vmnet-broker's protocol used as vmnet-helper --network uses it (test/doubles/probe-broker.c), and a
 * stand-in vmnet-broker (test/doubles/standin-vmnet-broker.c) that vmlan's clients use instead.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { dlopen, FFIType } from "bun:ffi";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { libc } from "../../../ffi/libc/load.ts";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM } from "../../../ffi/libc/constants.ts";
import { buildProbe, buildVmnet, type VmnetBuild } from "../../doubles/build.ts";
import { runVmlan } from "../../support/binary.ts";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";
import { LineProc } from "../helper/proc.ts";

const ROOT = join(import.meta.dir, "..", "..", "..");
const MAIN = join(ROOT, "src", "main.ts");
const GUEST = join(ROOT, "test", "support", "dgram-guest.ts");
const ACQUIRE = join(import.meta.dir, "xpc-acquire.ts");
const linux = process.platform === "linux";

let ns: Netns;
let build: VmnetBuild;
let probe = "";
let standin = "";
let reservations = () => 0;
const tmp = mkdtempSync(join(tmpdir(), "vmlan-xpc-"));
const stateDir = join(tmp, "state");
const machDir = join(tmp, "mach");
const resDir = join(tmp, "reservations");
const procs: LineProc[] = [];
const track = (p: LineProc) => (procs.push(p), p);
const vmlan = (...args: string[]) => runVmlan(args, { env: { VMLAN_STATE_DIR: stateDir }, netns: ns.name });
/** What every darwin-side process gets: the double, macOS 26, the shared Mach and reservation dirs. */
const darwinEnv = (extra: Record<string, string> = {}) => ({
  ...build.env, VMLAN_STATE_DIR: stateDir, VMLAN_PLATFORM: "darwin-double", VMLAN_DARWIN_VERSION: "26", VMLAN_DOUBLE_BRIDGE: "vl-x",
  VMLAN_DOUBLE_MACH_DIR: machDir, VMLAN_DOUBLE_STATE_DIR: resDir, VMLAN_TEST_NETNS: ns.name, ...extra,
});
const inNs = (argv: string[], env: Record<string, string>, fds: number[] = []) => track(new LineProc(["ip", "netns", "exec", ns.name, ...argv], env, fds));

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

function socketpair(): [number, number] {
  const sv = new Int32Array(2);
  if (libc().socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) !== 0) throw new Error("socketpair failed");
  return [sv[0]!, sv[1]!];
}

/** A darwin `vmlan helper` on a socketpair with a fake guest behind it; resolves its start line. */
async function vm(id: string, extra: Record<string, string> = {}, ping?: string, network = "x") {
  const [vmEnd, helperEnd] = socketpair();
  const helper = inNs([BUN, MAIN, "helper", "--fd", "3", "--network", network, "--id", id], darwinEnv(extra), [helperEnd]);
  const line = JSON.parse(await helper.waitFor(/^\{/, { timeoutMs: 20_000 })) as Record<string, string | number>;
  libc().close(helperEnd);
  const guest = track(new LineProc([BUN, GUEST, "--fd", "3", "--ip", String(line.vmlan_address), "--mac", String(line.vmlan_mac), ...(ping ? ["--ping", ping] : [])], {}, [vmEnd]));
  libc().close(vmEnd);
  await guest.waitFor(/^ready/);
  return { helper, guest, line };
}

let broker: LineProc;
beforeAll(async () => {
  if (!linux) return;
  build = buildVmnet();
  probe = buildProbe("probe-broker");
  standin = buildProbe("standin-vmnet-broker");
  ns = createNetns();
  for (const d of [machDir, resDir]) Bun.spawnSync(["mkdir", "-p", d]);
  // Mach services are open to every process (the service checks its peers): nobody must reach the socket.
  for (const d of [tmp, machDir]) chmodSync(d, 0o755);
  const r = await vmlan("network", "create", "x", "--subnet", "10.79.0.0/24", "--mode", "host");
  if (r.exitCode !== 0) throw new Error(`network create: ${r.stderr}`);
  const d = dlopen(build.double, { vmnet_double_reservations: { args: [FFIType.cstring], returns: FFIType.i32 } }).symbols;
  reservations = () => d.vmnet_double_reservations(Buffer.from(`${resDir}\0`));
});
afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
  ns?.delete();
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!linux)("vmlan's clients and a running vmnet-broker (stand-in)", () => {
  test("`default` is asked for as vmnet-broker's `shared`; a subnet vmlan did not plan is refused; unknown names and no broker are told apart", async () => {
    const sb = inNs([standin, "test.vmnet-broker"], darwinEnv());
    await sb.waitFor(/^ready/);
    const acquire = async (spec: object, service: string) => {
      const p = inNs([BUN, ACQUIRE, service, JSON.stringify(spec)], darwinEnv());
      expect(await p.exited()).toBe(0);
      return JSON.parse(p.out.at(-1)!) as Record<string, string>;
    };
    const def = { name: "default", bridge: "vl-default", mode: "shared", subnet: "192.168.64.0/24", gateway: "192.168.64.1", subnetV6: null, gatewayV6: null, mtu: 1500 };
    expect(await acquire(def, "test.vmnet-broker")).toEqual({ subnet: "192.168.64.0/24" });
    expect((await acquire({ ...def, subnet: "192.168.99.0/24", gateway: "192.168.99.1" }, "test.vmnet-broker")).error).toBe(
      "the broker at test.vmnet-broker gave network default the subnet 192.168.64.0/24, but vmlan's network default is 192.168.99.0/24: recreate it with --subnet 192.168.64.0/24, or use vmlan's broker");
    expect((await acquire({ ...def, name: "x", subnet: "10.79.0.0/24", gateway: "10.79.0.1" }, "test.vmnet-broker")).error).toBe('the broker at test.vmnet-broker has no network "x"');
    expect(await acquire(def, "nobody.serves.this")).toEqual({ broker: "none" });
    // A vmlan helper on vmnet-broker's network, as vmnet-helper --network shared is: frames reach the host at its gateway.
    ns.sh(["ip", "link", "add", "vl-s", "type", "bridge"]); // a bridge with no address: the double gives the host 192.168.64.1 there
    ns.sh(["ip", "link", "set", "vl-s", "up"]);
    const h = await vm("via-standin", { VMLAN_VMNET_BROKER: "test.vmnet-broker", VMLAN_DOUBLE_BRIDGE: "vl-s" }, "192.168.64.1", "default");
    expect(h.line).toMatchObject({ vmlan_network: "default", net_ipv4_subnet: "192.168.64.1", vmlan_host_port: "vmnet" });
    expect(await h.guest.waitFor(/^ping (ok|fail)/)).toBe("ping ok 192.168.64.1");
    expect(reservations()).toBe(1); // the stand-in's network, recreated in the helper: one reservation
    h.helper.kill("SIGTERM");
    expect(await h.helper.exited()).toBe(0);
    expect(h.helper.err.join("\n")).not.toContain("VIOLATION");
    sb.kill("SIGKILL");
    await sb.exited();
    await until("the stand-in's reservation to end with it", () => reservations() === 0);
  });
});

describe.skipIf(!linux)("a standalone helper's network (review F11)", () => {
  test("the helper keeps the reservation for its whole life, also when an interface does not (the double's strict mode)", async () => {
    const [vmEnd, helperEnd] = socketpair();
    const strict = { VMLAN_VMNET_BROKER: "none", VMLAN_DOUBLE_IFACE_KEEPS_NETWORK: "0" };
    const helper = inNs([BUN, MAIN, "helper", "--fd", "3", "--network", "x", "--id", "alone"], darwinEnv(strict), [helperEnd]);
    await helper.waitFor(/^\{/, { timeoutMs: 20_000 });
    libc().close(helperEnd);
    const spec = { name: "other", bridge: "vl-other", mode: "host", subnet: "10.79.0.0/24", gateway: "10.79.0.1", subnetV6: null, gatewayV6: null, mtu: 1500 };
    const create = async () => {
      const p = inNs([BUN, ACQUIRE, "create", JSON.stringify(spec)], darwinEnv());
      await p.exited();
      return JSON.parse(p.out.at(-1)!) as { created?: boolean; error?: string };
    };
    expect((await create()).error).toContain("VMNET_SHARING_SERVICE_BUSY"); // still x's while the helper runs
    const inspect = inNs([BUN, MAIN, "network", "inspect", "x"], darwinEnv({ VMLAN_BROKER_SOCKET: join(tmp, "no-broker.sock") }));
    expect(await inspect.exited()).toBe(0);
    expect((JSON.parse(inspect.out.join("\n")) as { host: { up: boolean; detail: string } }[])[0]!.host).toMatchObject({ up: false, detail: expect.stringMatching(/^not held by this process/) });
    helper.kill("SIGTERM");
    expect(await helper.exited()).toBe(0);
    expect(await create()).toEqual({ created: true }); // free once the helper is gone
    libc().close(vmEnd);
  });
});

describe.skipIf(!linux)("vmlan broker's XPC service (vmnet double)", () => {
  test("two helpers get network x over XPC, recreate it and start interfaces on it; their guests reach each other; a killed client's hold goes; the last one's ends the network after the idle time", async () => {
    // Its serializations carry a Mach send right (the double's stand-in): bytes could not move them, XPC does.
    broker = inNs([BUN, MAIN, "broker", "--socket", join(tmp, "broker.sock"), "--idle-timeout", "1", "--vmnet-broker-name", "com.github.nirs.vmnet-broker"],
      darwinEnv({ VMLAN_DOUBLE_SERIALIZATION_MACH: "1" }));
    await broker.waitFor(/serving vmnet networks on the Mach services dev\.vmlan\.broker, com\.github\.nirs\.vmnet-broker/, { stream: "err" });
    const a = await vm("vm-a");
    const b = await vm("vm-b", {}, String(a.line.vmlan_address));
    expect(await b.guest.waitFor(/^ping (ok|fail)/)).toBe(`ping ok ${a.line.vmlan_address}`); // vmnet → double's bridge → vmnet
    expect(a.line).toMatchObject({ net_ipv4_subnet: "10.79.0.1", net_ipv4_mask: "255.255.255.0", vmlan_host_port: "vmnet" });
    const acquired = broker.err.filter((l) => /XPC client pid \d+ \(dev\.vmlan\.broker\) acquired x$/.test(l));
    expect(acquired.length).toBe(2);
    expect(reservations()).toBe(1); // one network, held by the broker and recreated in both helpers
    // A one-shot CLI holds nothing: network inspect shows the broker's view.
    const inspect = inNs([BUN, MAIN, "network", "inspect", "x"], darwinEnv({ VMLAN_BROKER_SOCKET: join(tmp, "broker.sock") }));
    expect(await inspect.exited()).toBe(0);
    const [view] = JSON.parse(inspect.out.join("\n")) as { host: { up: boolean; addresses: string[]; detail: string } }[];
    expect([view!.host.up, view!.host.addresses]).toEqual([true, ["10.79.0.1/24"]]);
    expect(view!.host.detail).toMatch(/^held by vmlan broker pid \d+ \(2 holders\)$/);
    for (const h of [a.helper, b.helper]) expect(h.err.join("\n")).not.toContain("VIOLATION");
    // What `vm run` does on macOS 26 in a third process: the network from the broker, held here, so
    // its NIC is VZVmnetNetworkDeviceAttachment on the recreated network (vz.ts nicAttachment).
    const spec = { name: "x", bridge: "vl-x", mode: "host", subnet: "10.79.0.0/24", gateway: "10.79.0.1", subnetV6: null, gatewayV6: null, mtu: 1500 };
    const vmRun = inNs([BUN, ACQUIRE, "platform", JSON.stringify(spec)], darwinEnv());
    expect(await vmRun.exited()).toBe(0);
    const seen = JSON.parse(vmRun.out.at(-1)!) as { held: boolean; nic: string; status: string[] };
    expect([seen.held, seen.nic, seen.status[0]]).toEqual([true, "vmnet", "10.79.0.1/24"]);
    expect(broker.err.filter((l) => /\(dev\.vmlan\.broker\) acquired x$/.test(l)).length).toBe(3);
    await broker.waitFor(/XPC client pid \d+ left; released x/, { stream: "err" }); // it exited

    const pidA = a.helper.proc.pid;
    const leftBefore = broker.err.filter((l) => / left; released x/.test(l)).length;
    a.helper.kill("SIGKILL"); // the process is gone: its connection closes, nothing else tells the broker
    await until("the killed client's hold to go", () => broker.err.filter((l) => / left; released x/.test(l)).length === leftBefore + 1);
    expect(broker.err.some((l) => /network x down/.test(l))).toBe(false); // vm-b still holds it
    expect(reservations()).toBe(1);
    void pidA;

    b.helper.kill("SIGTERM");
    expect(await b.helper.exited()).toBe(0);
    await broker.waitFor(/network x down after 1s idle/, { stream: "err", timeoutMs: 10_000 });
    await until("the reservation to end", () => reservations() === 0);
  });

  test("helper --broker on macOS 26: the lease from the broker's socket, the network over XPC, the interface in the helper (no frame-copying port)", async () => {
    const [vmEnd, helperEnd] = socketpair();
    const before = broker.err.length;
    const h = inNs([BUN, MAIN, "helper", "--broker", "--broker-socket", join(tmp, "broker.sock"), "--fd", "3", "--network", "x", "--id", "vm-c"], darwinEnv(), [helperEnd]);
    const line = JSON.parse(await h.waitFor(/^\{/, { timeoutMs: 20_000 })) as Record<string, string | number>;
    libc().close(helperEnd);
    expect(line).toMatchObject({ vmlan_host_port: "vmnet", net_ipv4_subnet: "10.79.0.1", vmlan_network: "x" });
    const logged = broker.err.slice(before).join("\n");
    expect(logged).toMatch(/XPC client pid \d+ \(dev\.vmlan\.broker\) acquired x/);
    expect(h.err.join("\n") + logged).not.toContain("frame-copying");
    h.kill("SIGTERM");
    expect(await h.exited()).toBe(0);
    libc().close(vmEnd);
  });

  test("run --native --broker on macOS 26: COMMAND gets the broker's datagram fd (a VM wants frames, not vmnet's event pipe)", async () => {
    const before = broker.err.length;
    const run = inNs([BUN, MAIN, "run", "--native", "--broker", "--broker-socket", join(tmp, "broker.sock"), "--network", "x", "--id", "vm-d", "--",
      "sh", "-c", "echo \"fd $(readlink /proc/self/fd/{fd}) tap=$VMLAN_TAP\""], darwinEnv());
    const line = await run.waitFor(/^fd /, { timeoutMs: 20_000 });
    expect(await run.exited()).toBe(0);
    expect(line).toMatch(/^fd socket:\[\d+\] tap=vmnet:[0-9a-f:]{17}$/); // the broker's socketpair end, named by its port
    expect(broker.err.slice(before).join("\n")).toMatch(/frame-copying/); // the broker says the native path exists
  });

  for (const native of [true, false]) {
    test(`run${native ? " --native" : ""} without --broker on macOS 26: the network over XPC, ${native ? "a vmnet interface in the run process" : "a helper per network"}, frames on COMMAND's datagram fd`, async () => {
      const before = broker.err.length;
      const run = inNs([BUN, MAIN, "run", ...(native ? ["--native"] : []), "--network", "x", "--id", `vm-e${native ? 1 : 2}`, "--",
        "sh", "-c", `echo "fd $(readlink /proc/self/fd/{fd})"; exec ${BUN} ${GUEST} --fd {fd} --ip {ip} --mac {mac} --ping 10.79.0.1`], darwinEnv());
      expect(await run.waitFor(/^fd /, { timeoutMs: 20_000 })).toMatch(/^fd socket:\[\d+\]$/);
      expect(await run.waitFor(/^ping (ok|fail)/)).toBe("ping ok 10.79.0.1"); // the host, at vmnet's gateway on the double's bridge
      expect(broker.err.slice(before).join("\n")).toMatch(/XPC client pid \d+ \(dev\.vmlan\.broker\) acquired x/);
      run.kill("SIGTERM");
      await run.exited();
      expect(run.err.join("\n")).not.toContain("VIOLATION");
    });
  }

  test("vmnet-broker's protocol, as vmnet-helper --network speaks it, under vmnet-broker's name: `shared` is vmlan's default; bad requests get vmnet-broker's codes", async () => {
    const p = inNs([probe, "com.github.nirs.vmnet-broker", "acquire", "shared", "interface"], darwinEnv());
    expect(await p.waitFor(/^(ok|fail)/)).toBe("ok 192.168.64.1 255.255.255.0");
    const raw = async (...kv: string[]) => {
      const r = inNs([probe, "dev.vmlan.broker", "raw", ...kv], darwinEnv());
      await r.exited();
      return r.out.join("\n");
    };
    expect(await raw("command=acquire")).toBe("error 4"); // no network_name
    expect(await raw("command=release", "network_name=x")).toBe("error 4"); // acquire is the only command
    expect(await raw("command=acquire", "network_name=#7")).toBe("error 4"); // not a string
    expect(await raw("command=acquire", "network_name=nope")).toBe("error 5");
    expect(await raw("command=acquire", "network_name=x")).toBe("network");
    p.kill("SIGTERM");
    const listed = await vmlan("network", "ls", "--format", "json");
    expect((JSON.parse(listed.stdout) as { name: string }[]).map((n) => n.name).sort()).toEqual(["default", "x"]); // made for `shared`
  });

  test("a peer that is not root, the broker's user or in its group gets NOT_ALLOWED (3)", async () => {
    const r = inNs(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", probe, "dev.vmlan.broker", "acquire", "x"], darwinEnv());
    expect(await r.waitFor(/^(ok|fail)/)).toBe("fail acquire 3");
    await broker.waitFor(/refused XPC client pid \d+ uid 65534 on dev\.vmlan\.broker/, { stream: "err" });
  });
});
