/**
 * Bridged networks on the darwin platform, run from source against the vmnet double (as helper.test.ts):
 * vmnet's bridged mode is the classic API's VMNET_BRIDGED_MODE with vmnet_shared_interface_name_key,
 * on macOS 15 and 26 alike. The double offers one shared interface, VMLAN_DOUBLE_BRIDGE (here the
 * Linux bridge "lanbr" in a namespace this file creates, playing the LAN), and puts every interface
 * it starts on it. A fake guest behind `vmlan helper` on the bridged network reaches a LAN host.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { dlopen, FFIType } from "bun:ffi";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { libc } from "../../../ffi/libc/load.ts";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM } from "../../../ffi/libc/constants.ts";
import { buildVmnet, type VmnetBuild } from "../../doubles/build.ts";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";
import { LineProc } from "../helper/proc.ts";

const ROOT = join(import.meta.dir, "..", "..", "..");
const MAIN = join(ROOT, "src", "main.ts");
const GUEST = join(ROOT, "test", "support", "dgram-guest.ts");
const ID = "5A1C4E2B-0D7F-4C3A-9E61-2B8F0A6D3C11";
const linux = process.platform === "linux";

let ns: Netns;
let build: VmnetBuild;
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-dbridged-"));
const procs: LineProc[] = [];

function socketpair(): [number, number] {
  const sv = new Int32Array(2);
  if (libc().socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) !== 0) throw new Error("socketpair failed");
  return [sv[0]!, sv[1]!];
}

const denv = (version: string) => ({ VMLAN_STATE_DIR: stateDir, ...build.env, VMLAN_PLATFORM: "darwin-double", VMLAN_DARWIN_VERSION: version, VMLAN_DOUBLE_BRIDGE: "lanbr", VMLAN_TEST_NETNS: ns.name });

/** `bun src/main.ts ARGS` on the darwin platform (macOS `version`) inside the namespace. */
function darwin(version: string, args: string[], fds: number[] = [], extra: Record<string, string> = {}): LineProc {
  const p = new LineProc(["ip", "netns", "exec", ns.name, BUN, MAIN, ...args], { ...denv(version), ...extra }, fds);
  procs.push(p);
  return p;
}

async function darwinRun(version: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = darwin(version, args);
  const code = await p.exited(30_000);
  return { code, out: p.out.join("\n"), err: p.err.join("\n") };
}

let violations = () => 0;
beforeAll(() => {
  if (!linux) return;
  build = buildVmnet();
  ns = createNetns();
  // The "LAN": a bridge with a LAN host's address on it (the host side's 10.76.0.1).
  ns.sh(["ip", "link", "add", "lanbr", "type", "bridge"]);
  ns.sh(["ip", "addr", "add", "10.76.0.1/24", "dev", "lanbr"]);
  ns.sh(["ip", "link", "set", "lanbr", "up"]);
  const d = dlopen(build.double, { vmnet_double_violations: { args: [], returns: FFIType.u64 } }).symbols;
  const before = Number(d.vmnet_double_violations());
  violations = () => Number(d.vmnet_double_violations()) - before;
});
afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
  ns?.delete();
  rmSync(stateDir, { recursive: true, force: true });
  if (linux) expect(violations()).toBe(0);
});

describe.skipIf(!linux)("bridged networks on darwin (vmnet double)", () => {
  test("network uplinks lists what vmnet offers; an uplink vmnet does not offer is refused (exit 3), nothing stored", async () => {
    const list = await darwinRun("26", "network", "uplinks", "--format", "json");
    expect(list.code, list.err).toBe(0);
    expect(JSON.parse(list.out)).toEqual([{ name: "lanbr", state: "unknown", mtu: null, ipv4: [] }]);
    const bad = await darwinRun("26", "network", "create", "wifi", "--mode", "bridged", "--uplink", "en9", "--subnet", "10.76.0.0/24");
    expect(bad.code).toBe(3);
    expect(bad.err).toContain(`vmnet cannot bridge "en9": it offers lanbr`);
    const ls = await darwinRun("26", "network", "ls", "-q");
    expect(ls.out.split("\n")).not.toContain("wifi");
  });

  for (const version of ["26", "15"]) {
    test(`macOS ${version}: a guest behind the helper on a bridged network is bridged by vmnet to the LAN; no address keys`, async () => {
      const name = `lan${version}`;
      const c = await darwinRun(version, "network", "create", name, "--mode", "bridged", "--uplink", "lanbr", "--subnet", "10.76.0.0/24", "--format", "json");
      expect(c.code, c.err).toBe(0);
      expect(JSON.parse(c.out)).toMatchObject({ mode: "bridged", uplink: "lanbr", subnet: "10.76.0.0/24", gateway: "10.76.0.1", dhcp: false });
      const [vmEnd, helperEnd] = socketpair();
      const h = darwin(version, ["helper", "--fd", "3", "--network", name, "--id", ID], [helperEnd], { VMLAN_DEBUG_FFI: "1" });
      const line = JSON.parse(await h.waitFor(/^\{/)) as Record<string, string | number>;
      libc().close(helperEnd);
      expect(line).toMatchObject({ vmlan_network: name, vmlan_host_port: "vmnet", vmnet_interface_id: ID });
      expect(line.vmlan_address).toBeUndefined();
      // The guest's address would come from the LAN's DHCP server; the double has none, so it is fixed here.
      const g = new LineProc([BUN, GUEST, "--fd", "3", "--ip", "10.76.0.50", "--mac", String(line.vmnet_mac_address), "--ping", "10.76.0.1"], {}, [vmEnd]);
      procs.push(g);
      expect(await g.waitFor(/^ping (ok|fail)/, { timeoutMs: 15_000 })).toBe("ping ok 10.76.0.1");
      libc().close(vmEnd);
      h.kill("SIGTERM");
      expect(await h.exited()).toBe(0);
      const err = h.err.join("\n");
      expect(err).not.toContain("VIOLATION");
      expect(err).toMatch(/ffi: vmnet-shim\.vmlan_vmnet_start\(1002,/); // VMNET_BRIDGED_MODE, the classic API on both versions
      g.kill();
      const rm = await darwinRun(version, "network", "rm", name, "--force");
      expect(rm.code, rm.err).toBe(0);
    });
  }
});
