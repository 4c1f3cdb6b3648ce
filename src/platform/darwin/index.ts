/**
 * The macOS platforms, one per vmnet generation, picked by src/platform/index.ts (the one place that
 * branches on OS and OS version):
 *   macOS 26+  networks.ts: vmnet networks from the stored spec, held by the process (held.ts)
 *   macOS 15   classic.ts:  vmnet's shared network only, as `default`
 * Either way the host side of a VM is a vmnet interface started in-process (openVmnetPort), whose
 * ref and event fd the forwarding Workers take as numbers (datapath/forward-worker.ts), and the broker
 * hands VMs a datagram fd forwarded to such an interface (openTap, broker-port.ts).
 * On Linux, tests load this against the vmnet double (test/doubles; docs/macos.md).
 */
import { createClassicPlatform } from "./classic.ts";
import type { DarwinPlatform } from "./common.ts";
import { createNetworksPlatform } from "./networks.ts";
import { macosMajor, NETWORKS_SINCE } from "./version.ts";

export { classicRange, CLASSIC_NETWORK, createClassicPlatform } from "./classic.ts";
export { createNetworksPlatform } from "./networks.ts";
export { macosMajor, NETWORKS_SINCE } from "./version.ts";
export type { DarwinPlatform } from "./common.ts";

/** The platform for `major` (default: this Mac's, or VMLAN_DARWIN_VERSION). */
export function createDarwinPlatform(major = macosMajor()): DarwinPlatform {
  return major >= NETWORKS_SINCE ? createNetworksPlatform(major) : createClassicPlatform(major);
}
