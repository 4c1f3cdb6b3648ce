/**
 * Runs acquireFromBroker (src/platform/darwin/xpc-client.ts) once against the vmnet double, for
 * xpc-broker.test.ts:  bun test/integration/darwin/xpc-acquire.ts SERVICE '<spec json>'
 * Prints {"subnet":...} (acquired and recreated here), {"broker":"none"} (nobody serves SERVICE) or
 * {"error":...} (the broker refused, or the subnet is not the one vmlan planned).
 * With SERVICE "create": a trial vmnet_network_create of the spec here, {"created":true} or {"error":...}.
 * With SERVICE "platform": what `vm run` does on macOS 26, ensureNetwork on the darwin platform (a
 * broker runs: the network comes from it) and the NIC rule for it: {"held":..., "nic":...}.
 */
import { acquireFromBroker } from "../../../src/platform/darwin/xpc-client.ts";
import type { HostNetworkSpec } from "../../../src/platform/types.ts";

const [service, json] = process.argv.slice(2);
if (service === "create") { // a trial vmnet_network_create here: is the subnet free system-wide?
  const { VmnetNetwork } = await import("../../../src/platform/darwin/network.ts");
  try {
    VmnetNetwork.create(JSON.parse(json!) as HostNetworkSpec).release();
    console.log(JSON.stringify({ created: true }));
  } catch (e) {
    console.log(JSON.stringify({ error: (e as Error).message }));
  }
  process.exit(0);
}
if (service === "platform") {
  const { createNetworksPlatform } = await import("../../../src/platform/darwin/networks.ts");
  const { nicAttachment } = await import("../../../src/platform/darwin/vz.ts");
  const spec = JSON.parse(json!) as HostNetworkSpec;
  const p = createNetworksPlatform(26);
  await p.ensureNetwork(spec);
  const held = p.heldRef!(spec.name);
  console.log(JSON.stringify({ held: held !== null, nic: nicAttachment({ major: 26, held }).kind, status: (await p.status(spec)).addresses }));
  process.exit(0);
}
try {
  const net = acquireFromBroker(service!, JSON.parse(json!) as HostNetworkSpec);
  console.log(JSON.stringify(net ? { subnet: net.info().subnet } : { broker: "none" }));
  net?.release();
} catch (e) {
  console.log(JSON.stringify({ error: (e as Error).message }));
}
