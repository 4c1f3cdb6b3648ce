/**
 * vmnet's interface port-forwarding calls (vmnet_interface_{add,remove}_ip_port_forwarding_rule)
 * through src/platform/darwin and shims/vmnet-forwarding.c, against the vmnet double, in a namespace
 * this file creates (a started interface is a TAP on its bridge). The code runs in forward-run.ts.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { buildVmnet, type VmnetBuild } from "../../doubles/build.ts";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";

const linux = process.platform === "linux";
let ns: Netns;
let build: VmnetBuild;

beforeAll(() => {
  if (!linux) return;
  build = buildVmnet();
  ns = createNetns();
  ns.sh(["ip", "link", "add", "vd0", "type", "bridge"]);
  ns.sh(["ip", "link", "set", "vd0", "up"]);
});
afterAll(() => ns?.delete());

test.skipIf(!linux)("a classic interface takes, refuses a duplicate of, and removes rules; one on a macOS 26 network refuses them", () => {
  const r = ns.run([BUN, "test/integration/darwin/forward-run.ts"], { env: { ...build.env, VMLAN_DOUBLE_BRIDGE: "vd0" } });
  expect(r.stderr).not.toContain("VIOLATION");
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({
    added: ["tcp 4 8080 192.168.64.2 80", "udp 6 5353 fd00::2 53"],
    duplicate: 1003, // VMNET_INVALID_ARGUMENT through the completion handler
    afterRemove: ["udp 6 5353 fd00::2 53"],
    removeMissing: 1003,
    onNetworkAdd: 1001, // VMNET_FAILURE at once, no handler: rules go into the network's configuration
    violations: 0,
  });
});
