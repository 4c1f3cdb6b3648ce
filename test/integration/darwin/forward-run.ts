/**
 * vmnet's interface port-forwarding calls through vmlan's darwin code, against the vmnet double,
 * inside a test namespace (a started interface is a TAP on VMLAN_DOUBLE_BRIDGE):
 *   ip netns exec NS bun test/integration/darwin/forward-run.ts
 * Prints one JSON object.
 */
import { dlopen, FFIType, type Pointer } from "bun:ffi";
import { VmnetNetwork } from "../../../src/platform/darwin/network.ts";
import { VmnetError, VmnetInterface } from "../../../src/platform/darwin/vmnet-interface.ts";
import { assertInTestNetns } from "../../support/netns.ts";

assertInTestNetns();
const d = dlopen(process.env.VMLAN_VMNET_PATH!, {
  vmnet_double_violations: { args: [], returns: FFIType.u64 },
  vmnet_double_interface_forwards: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
}).symbols;
const rules = (ref: Pointer) => {
  const buf = new Uint8Array(new ArrayBuffer(4096));
  const n = d.vmnet_double_interface_forwards(ref, buf, buf.length);
  return new TextDecoder().decode(buf.subarray(0, n)).trim().split("\n").filter(Boolean);
};
const status = (fn: () => void) => {
  try {
    fn();
    return 1000;
  } catch (e) {
    if (e instanceof VmnetError) return e.status;
    throw e;
  }
};

const classic = VmnetInterface.start({ mode: "shared" });
classic.addForward({ protocol: 6, family: 4, externalPort: 8080, internalPort: 80, address: Uint8Array.from([192, 168, 64, 2]) });
classic.addForward({ protocol: 17, family: 6, externalPort: 5353, internalPort: 53, address: Uint8Array.from([0xfd, ...Array(14).fill(0), 2]) });
const added = rules(classic.unsafeRef);
const duplicate = status(() => classic.addForward({ protocol: 6, family: 4, externalPort: 8080, internalPort: 81, address: Uint8Array.from([192, 168, 64, 3]) }));
classic.removeForward({ protocol: 6, externalPort: 8080, family: 4 });
const afterRemove = rules(classic.unsafeRef);
const removeMissing = status(() => classic.removeForward({ protocol: 6, externalPort: 9999, family: 4 }));
classic.stop();

const net = VmnetNetwork.create({ name: "fw", bridge: "vl-fw", mode: "shared", subnet: "10.82.0.0/24", gateway: "10.82.0.1", subnetV6: null, gatewayV6: null, mtu: 1500 });
const onNetwork = VmnetInterface.startOnNetwork(net.unsafeRef);
const onNetworkAdd = status(() => onNetwork.addForward({ protocol: 6, family: 4, externalPort: 8080, internalPort: 80, address: Uint8Array.from([10, 82, 0, 2]) }));
onNetwork.stop();
net.release();
console.log(JSON.stringify({ added, duplicate, afterRemove, removeMissing, onNetworkAdd, violations: Number(d.vmnet_double_violations()) }));
