/** openHelperNic's start-line reading, with a stand-in helper that prints what `vmlan helper` prints. */
import { expect, test } from "bun:test";
import { openHelperNic } from "../../../src/datapath/helper-nic.ts";

const fakeHelper = (line: object) => [process.execPath, "-e", `console.log(${JSON.stringify(JSON.stringify(line))}); setTimeout(() => {}, 10000)`];

test("the NIC carries the helper's vmnet_mtu (a VZ file-handle NIC gets the network's MTU from it)", async () => {
  const nic = await openHelperNic({ self: fakeHelper({ vmnet_mtu: 9000, vmlan_tap: "vmnet:x" }), network: "n", id: "vm1" });
  try {
    expect(nic.mtu).toBe(9000);
    expect(nic.ifname).toBe("vmnet:x");
  } finally {
    process.kill(nic.helperPid!, "SIGKILL");
    nic.close();
  }
  const none = await openHelperNic({ self: fakeHelper({ vmlan_tap: "t" }), network: "n", id: "vm2" });
  expect(none.mtu).toBeUndefined();
  process.kill(none.helperPid!, "SIGKILL");
  none.close();
});
