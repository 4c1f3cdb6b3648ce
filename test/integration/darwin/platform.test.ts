/**
 * createDarwinPlatform() in-process against the vmnet double, using only what touches no device: the
 * macOS 26 network objects (bookkeeping in the double) and the macOS 15 rules. Interfaces and traffic
 * run in a namespace (helper.test.ts, broker.test.ts). VMLAN_DARWIN_VERSION picks the macOS version.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { dlopen, FFIType } from "bun:ffi";
import { buildVmnet } from "../../doubles/build.ts";
import type { HostNetworkSpec } from "../../../src/platform/types.ts";

const linux = process.platform === "linux";
const spec = (name: string, third: number, mode: "shared" | "host" = "shared"): HostNetworkSpec => ({
  name, bridge: `vl-${name}`, mode, subnet: `10.81.${third}.0/24`, gateway: `10.81.${third}.1`,
  subnetV6: `fd00:81:${third}::/64`, gatewayV6: `fd00:81:${third}::1`, mtu: 1500,
});
// Imported after the env points ffi/vmnet at the double (the loader reads it on first use).
const platform = async (version: string) => {
  process.env.VMLAN_DARWIN_VERSION = version;
  return (await import("../../../src/platform/darwin/index.ts")).createDarwinPlatform();
};

let violations = () => 0;
beforeAll(() => {
  if (!linux) return;
  const b = buildVmnet();
  Object.assign(process.env, b.env);
  const d = dlopen(b.double, { vmnet_double_violations: { args: [], returns: FFIType.u64 } }).symbols;
  const before = Number(d.vmnet_double_violations()); // other files in this process may have made some on purpose
  violations = () => Number(d.vmnet_double_violations()) - before;
});
// Every call above was a correct use of vmnet (an overlap is vmnet's answer, not a caller bug).
afterAll(() => expect(violations()).toBe(0));

describe.skipIf(!linux)("darwin platform, macOS 26 (vmnet networks)", () => {
  test("ensureNetwork holds a network from the spec; status reports it; removeNetwork drops it; idempotent", async () => {
    const p = await platform("26.1");
    const s = spec("a", 1);
    expect((await p.status(s)).up).toBe(false);
    expect((await p.status(s)).detail).toContain("not held by this process");
    await p.ensureNetwork(s);
    await p.ensureNetwork(s); // same spec: kept
    expect(await p.status(s)).toEqual({ name: "a", bridge: "vl-a", up: true, addresses: ["10.81.1.1/24", "fd00:81:1::/64"], nat: true });
    await p.checkSubnetFree(s.subnet, s.bridge); // our own network is no conflict
    await p.removeNetwork(s);
    await p.removeNetwork(s);
    expect((await p.status(s)).up).toBe(false);
  });

  test("an overlapping subnet is a ConflictError from vmnet (VMNET_SHARING_SERVICE_BUSY), by trial and on ensure", async () => {
    const p = await platform("26");
    await p.ensureNetwork(spec("b", 2));
    const err = await p.checkSubnetFree("10.81.2.0/24", "vl-other").catch((e: Error & { code?: string }) => e);
    expect(err).toMatchObject({ code: "ECONFLICT" });
    expect(String((err as Error).message)).toContain("in use by another vmnet network");
    const again = await p.ensureNetwork({ ...spec("c", 2), name: "c", bridge: "vl-c" }).catch((e: Error & { code?: string }) => e);
    expect(again).toMatchObject({ code: "ECONFLICT" });
    await p.checkSubnetFree("10.81.3.0/24", "vl-other"); // a free one passes (and is not kept)
    await p.ensureNetwork(spec("d", 3));
    await p.removeNetwork(spec("b", 2));
    await p.removeNetwork(spec("d", 3));
  });
});

describe.skipIf(!linux)("held networks: a port keeps its network (review F11)", () => {
  test("removeNetwork while a port runs keeps the reservation; the port's end releases it", async () => {
    const { HeldNetworks } = await import("../../../src/platform/darwin/held.ts");
    const { VmnetNetwork } = await import("../../../src/platform/darwin/network.ts");
    const held = new HeldNetworks();
    const s = spec("port", 7);
    held.ensure(s);
    const port = held.portHold(s); // what openVmnetPort takes for as long as its interface runs
    expect(held.release("port")).toBe(true); // removeNetwork (e.g. the one-shot CLI's hold ending)
    const clash = () => VmnetNetwork.create({ ...spec("other", 7), name: "other", bridge: "vl-other" });
    expect(clash).toThrow("VMNET_SHARING_SERVICE_BUSY"); // still reserved under the running port
    expect(held.get("port")).not.toBeNull();
    port.done();
    port.done(); // once only
    expect(held.get("port")).toBeNull();
    clash().release(); // the subnet is free again
  });
});

describe.skipIf(!linux)("darwin platform, macOS 15 (classic API)", () => {
  test("only `default` exists (vmnet's shared network); named networks and host mode get errors that name macOS 26", async () => {
    const p = await platform("15.6");
    const def = { ...spec("default", 64), subnet: "192.168.64.0/24", gateway: "192.168.64.1" };
    await p.ensureNetwork(def);
    expect(await p.status(def)).toMatchObject({ up: true, addresses: ["192.168.64.1/24"], nat: true });
    await expect(p.ensureNetwork(spec("named", 5))).rejects.toThrow(`macOS 15 has only vmnet's shared network: use the network "default"; named networks ("named") need macOS 26 or later`);
    await expect(p.ensureNetwork({ ...def, mode: "host" })).rejects.toThrow("mode host needs macOS 26");
    expect((await p.status(spec("named", 5))).up).toBe(false);
    await p.removeNetwork(def); // nothing to remove
  });

  test("classic interfaces get the spec's DHCP range; the version comes from VMLAN_DARWIN_VERSION", async () => {
    const { classicRange } = await import("../../../src/platform/darwin/index.ts");
    expect(classicRange({ ...spec("x", 0), subnet: "192.168.64.0/24", gateway: "192.168.64.1" })).toEqual({ start: "192.168.64.1", end: "192.168.64.254", mask: "255.255.255.0" });
    expect(classicRange({ ...spec("x", 0), subnet: "10.0.0.0/22", gateway: "10.0.0.1" })).toEqual({ start: "10.0.0.1", end: "10.0.3.254", mask: "255.255.252.0" });
    const { macosMajor } = await import("../../../src/platform/darwin/version.ts");
    process.env.VMLAN_DARWIN_VERSION = "26.0.1";
    expect(macosMajor()).toBe(26);
    process.env.VMLAN_DARWIN_VERSION = "banana";
    expect(() => macosMajor()).toThrow('cannot read the macOS version from VMLAN_DARWIN_VERSION: "banana"');
    delete process.env.VMLAN_DARWIN_VERSION;
  });
});
