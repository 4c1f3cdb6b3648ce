/**
 * macOS published ports against the vmnet double, in-process with network objects only (no device):
 * the rules a macOS 26 network is created with (vmnet_network_configuration_add_port_forwarding_rule,
 * through shims/vmnet-network.c), the double's argument checks, and what vmnet cannot forward left to
 * the services daemon's proxy. Interfaces (the classic calls) run in a namespace:
 * test/integration/darwin/forwarding.test.ts.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { dlopen, FFIType, type Pointer } from "bun:ffi";
import { buildVmnet } from "../doubles/build.ts";
import type { HostNetworkSpec } from "../../src/platform/types.ts";
import type { PortRule } from "../../src/core/ports/state.ts";
import { parsePortSpec } from "../../src/core/ports/spec.ts";

const linux = process.platform === "linux";
let double: { vmnet_double_violations: () => number | bigint; vmnet_double_network_forwards: (n: Pointer, b: Uint8Array, cap: number) => number };
const violations = () => Number(double.vmnet_double_violations());

const spec = (third: number, mode: "shared" | "host" = "shared"): HostNetworkSpec => ({
  name: `f${third}`, bridge: `vl-f${third}`, mode, subnet: `10.81.${third}.0/24`, gateway: `10.81.${third}.1`,
  subnetV6: `fd00:81:${third}::/64`, gatewayV6: `fd00:81:${third}::1`, mtu: 1500,
});
const rule = (s: string, guestAddress: string): PortRule => ({ ...parsePortSpec(s), guestAddress });
function forwardsOf(ref: number): string[] {
  const buf = new Uint8Array(new ArrayBuffer(8192));
  const n = double.vmnet_double_network_forwards(ref as Pointer, buf, buf.length);
  return new TextDecoder().decode(buf.subarray(0, n)).trim().split("\n").filter(Boolean);
}

beforeAll(() => {
  if (!linux) return;
  const build = buildVmnet();
  Object.assign(process.env, build.env);
  double = dlopen(build.double, {
    vmnet_double_violations: { args: [], returns: FFIType.u64 },
    vmnet_double_network_forwards: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  }).symbols as typeof double;
});

describe.skipIf(!linux)("macOS 26: rules in the network's configuration", () => {
  test("the holder creates the network with the store's wildcard rules, one per port; the rest is left to a proxy", async () => {
    const { createNetworksPlatform } = await import("../../src/platform/darwin/networks.ts");
    const p = createNetworksPlatform(26);
    const before = violations();
    p.ports!.useRules!((network) => (network === "f1" ? [
      rule("0.0.0.0:8080:80", "10.81.1.2"), rule("0.0.0.0:5353:53/udp", "10.81.1.2"), rule("[::]:8443-8444:443-444", "fd00:81:1::2"),
      rule("8081:80", "10.81.1.2"), // 127.0.0.1: vmnet has no host address to bind to
    ] : []));
    await p.ensureNetwork(spec(1));
    expect(forwardsOf(p.heldRef!("f1")!)).toEqual([
      "tcp 4 8080 10.81.1.2 80", "udp 4 5353 10.81.1.2 53", "tcp 6 8443 fd00:81:1::2 443", "tcp 6 8444 fd00:81:1::2 444",
    ]);
    await p.ensureNetwork(spec(2, "host"));
    expect(forwardsOf(p.heldRef!("f2")!)).toEqual([]); // host-only: vmnet forwards nothing
    expect(violations()).toBe(before);
    p.releaseHeld!("f1");
    p.releaseHeld!("f2");
  });

  test("the double checks what vmnet documents: a guest outside the network, a protocol that is not TCP or UDP", async () => {
    const { VmnetNetwork } = await import("../../src/platform/darwin/network.ts");
    const before = violations();
    const a = VmnetNetwork.create(spec(3), { forwards: [{ protocol: 6, family: 4, externalPort: 80, internalPort: 80, address: Uint8Array.from([10, 99, 0, 2]) }] });
    expect(violations()).toBe(before + 1);
    a.release();
    expect(() => VmnetNetwork.create(spec(4), { forwards: [{ protocol: 1, family: 4, externalPort: 80, internalPort: 80, address: Uint8Array.from([10, 81, 4, 2]) }] })).toThrow(/VMNET_INVALID_ARGUMENT/);
    expect(violations()).toBe(before + 2);
  });
});

describe("what vmnet cannot forward goes to the services daemon's proxy", () => {
  test("127.0.0.1, [::1], one address, host-only networks: proxy; wildcards on shared networks: vmnet's; macOS 15: all proxied", async () => {
    const { darwinPorts, vmnetForwards } = await import("../../src/platform/darwin/ports.ts");
    const p = darwinPorts({ rulesFor: () => [] }, { vmnetForwards: true });
    const carrier = (spec: string, mode: "shared" | "host") => p.carrier!(parsePortSpec(spec), mode);
    expect(["8080:80", "[::1]:8080:80", "192.168.1.20:8080:80/udp"].map((s) => carrier(s, "shared"))).toEqual(["proxy", "proxy", "proxy"]);
    expect(["0.0.0.0:8080:80", "[::]:8080:80/udp"].map((s) => carrier(s, "shared"))).toEqual(["vmnet", "vmnet"]);
    expect(carrier("0.0.0.0:8080:80", "host")).toBe("proxy");
    expect(darwinPorts({ rulesFor: () => [] }, { vmnetForwards: false }).carrier!(parsePortSpec("0.0.0.0:8080:80"), "shared")).toBe("proxy");
    expect(p.instance({ name: "n", bridge: "b", mode: "host", subnet: "10.0.0.0/24", gateway: "10.0.0.1", subnetV6: null, gatewayV6: null, mtu: 1500 })).not.toBeNull();
    // Only vmnet's share becomes vmnet rules.
    expect(vmnetForwards([rule("8080:80", "192.168.64.2"), rule("0.0.0.0:8081-8082:81-82", "192.168.64.2")], "shared").map((f) => [f.externalPort, f.internalPort])).toEqual([[8081, 81], [8082, 82]]);
    expect(vmnetForwards([rule("0.0.0.0:8081:81", "192.168.64.2")], "host")).toEqual([]);
  });
});
