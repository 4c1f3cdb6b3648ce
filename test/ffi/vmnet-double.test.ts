/**
 * ffi/vmnet, the trampolines and the double's checks, without any network device: only the macOS 26
 * network objects (pure bookkeeping in the double) are used in-process, and the descriptor probe runs
 * with VMLAN_DOUBLE_BRIDGE unset, so nothing can touch the root namespace. Interfaces and traffic are
 * tested in a namespace by test/integration/darwin/vmnet.test.ts.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { CString, dlopen, FFIType } from "bun:ffi";
import { join } from "node:path";
import { buildVmnet, type VmnetBuild } from "../doubles/build.ts";
import type { HostNetworkSpec } from "../../src/platform/types.ts";

/** The double is a Linux library; on a Mac, test/integration/darwin/macos.test.ts covers the real vmnet. */
const linux = process.platform === "linux";
let build: VmnetBuild;
let double: { vmnet_double_violations: () => number | bigint; vmnet_double_set_serialization_mach: (on: boolean) => void };
const violations = () => Number(double.vmnet_double_violations());

const spec = (third: number, v6 = true, mask = 24): HostNetworkSpec => ({
  name: `n${third}`, bridge: `vl-n${third}`, mode: "shared", subnet: `10.79.${third}.0/${mask}`, gateway: `10.79.${third}.1`,
  subnetV6: v6 ? `fd00:79:${third}::/64` : null, gatewayV6: v6 ? `fd00:79:${third}::1` : null, mtu: 1400,
});

// Imported lazily, after the env points ffi/vmnet at the double (lazyLibrary reads it on first use).
const darwin = () => import("../../src/platform/darwin/network.ts");
const shim = async () => (await import("../../ffi/vmnet/load.ts")).vmnetShim();

beforeAll(() => {
  if (!linux) return;
  build = buildVmnet();
  Object.assign(process.env, build.env);
  double = dlopen(build.double, {
    vmnet_double_violations: { args: [], returns: FFIType.u64 },
    vmnet_double_set_serialization_mach: { args: [FFIType.bool], returns: FFIType.void },
  }).symbols;
});

test.skipIf(!linux)("key symbols read through the shim are the documented strings (name without _key)", async () => {
  const s = await shim();
  for (const sym of ["vmnet_operation_mode_key", "vmnet_interface_id_key", "vmnet_mac_address_key", "vmnet_mtu_key",
    "vmnet_max_packet_size_key", "vmnet_start_address_key", "vmnet_read_max_packets_key", "vmnet_enable_isolation_key"]) {
    const p = s.vmlan_key(Buffer.from(`${sym}\0`));
    expect(p).not.toBeNull();
    expect(new CString(p!).toString()).toBe(sym.replace(/_key$/, ""));
  }
  expect(s.vmlan_key(Buffer.from("vmnet_no_such_key\0"))).toBeNull();
});

test.skipIf(!linux)("the double reports each misuse of vmnet_start_interface / vmnet_read (C probe)", () => {
  const exe = join(build.dir, `probe-desc-${process.pid}`);
  const cc = Bun.spawnSync(["clang", "-fblocks", "-Wall", "-Wextra", "-o", exe, join(import.meta.dir, "../doubles/probe-desc.c"),
    `-L${build.dir}`, "-lvmnet-double", `-Wl,-rpath,${build.dir}`, "-lBlocksRuntime"], { stderr: "pipe" });
  expect(cc.stderr.toString()).toBe("");
  const env = { ...process.env };
  delete env.VMLAN_DOUBLE_BRIDGE;
  delete env.VMLAN_DOUBLE_ABORT;
  const r = Bun.spawnSync([exe], { env, stdout: "pipe", stderr: "pipe" });
  expect(r.exitCode).toBe(0);
  // <case> <vmnet_return_t> <violations reported>
  expect(r.stdout.toString().trim().split("\n")).toEqual([
    "uuid-as-string 1003 1", "null-queue 1003 1", "partial-range 1003 1", "mode-as-string 1003 2",
    "unknown-key 1003 1", "no-bridge 1001 0", "read-null-iface 1003 1",
  ]);
  expect(r.stderr.toString()).toContain(`VIOLATION interface_desc key "vmnet_interface_id" must be an XPC UUID (not a string)`);
});

describe.skipIf(!linux)("macOS 26 networks", () => {
  test("create reports the gateway-style subnet and the prefix; serialization round-trips them", async () => {
    const { VmnetNetwork } = await darwin();
    const before = violations();
    const net = VmnetNetwork.create(spec(1));
    Bun.gc(true);
    const info = net.info();
    expect(info).toEqual({ ipv4Address: "10.79.1.1", ipv4Mask: "255.255.255.0", subnet: "10.79.1.0/24", ipv6Prefix: "fd00:79:1::", ipv6PrefixLen: 64 });
    const bytes = net.serialize();
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe("VMLX");
    Bun.gc(true);
    const copy = VmnetNetwork.fromSerialization(bytes);
    expect(copy.info()).toEqual(info);
    net.release();
    net.release(); // idempotent
    expect(copy.info()).toEqual(info); // the copy holds its own reference
    copy.release();
    expect(violations()).toBe(before);
  });

  test("a live network reserves its subnet: an overlapping one is VMNET_SHARING_SERVICE_BUSY until released", async () => {
    const { VmnetNetwork } = await darwin();
    const { VmnetError } = await import("../../src/platform/darwin/vmnet-interface.ts");
    const a = VmnetNetwork.create(spec(2, false));
    let err: unknown;
    try { VmnetNetwork.create(spec(2, false, 25)); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(VmnetError);
    expect((err as InstanceType<typeof VmnetError>).status).toBe(1009);
    a.release();
    const b = VmnetNetwork.create(spec(2, false, 25));
    expect(b.info().subnet).toBe("10.79.2.0/25");
    expect(b.info().ipv6Prefix).toMatch(/^fd/); // vmnet's default: a random ULA /64
    b.release();
  });

  test("a serialization holding a Mach right is refused as bytes (NotPlainDataError)", async () => {
    const { VmnetNetwork, NotPlainDataError } = await darwin();
    const net = VmnetNetwork.create(spec(3));
    double.vmnet_double_set_serialization_mach(true);
    try {
      expect(() => net.serialize()).toThrow(NotPlainDataError);
    } finally {
      double.vmnet_double_set_serialization_mach(false);
      net.release();
    }
  });

  test("bytes that are not a serialization are rejected; a well-formed foreign one is a vmnet violation", async () => {
    const { VmnetNetwork } = await darwin();
    expect(() => VmnetNetwork.fromSerialization(new TextEncoder().encode("garbage"))).toThrow(/VMNET_INVALID_ARGUMENT/);
    const net = VmnetNetwork.create(spec(4));
    const bytes = net.serialize();
    net.release();
    expect(() => VmnetNetwork.fromSerialization(bytes.subarray(0, bytes.length - 1))).toThrow(/VMNET_INVALID_ARGUMENT/);
    // A flat empty dictionary: valid bytes, but not something vmnet_network_copy_serialization made.
    const empty = Uint8Array.from([...new TextEncoder().encode("VMLX"), 1, 0x64, 0, 0, 0, 0]);
    const before = violations();
    expect(() => VmnetNetwork.fromSerialization(empty)).toThrow(/VMNET_INVALID_ARGUMENT/);
    expect(violations()).toBe(before + 1);
  });
});
