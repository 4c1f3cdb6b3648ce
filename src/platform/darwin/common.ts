/**
 * What both macOS platforms (classic.ts for macOS 15 and older, networks.ts for 26+) share: the
 * privilege check, the vmnet port as plain numbers, and the broker's hand-out (broker-port.ts).
 */
import { PermissionError } from "../../core/errors.ts";
import type { HostNetworkSpec, Platform, TapOpener, VmnetHostPort, VmnetPortOpener } from "../types.ts";
import { openBrokerPort } from "./broker-port.ts";
import { NETWORKS_SINCE } from "./version.ts";
import { VmnetInterface } from "./vmnet-interface.ts";
import { dropPrivileges } from "./privileges.ts";
import { explain } from "./held.ts";
import { VMLAN_MACH_SERVICE } from "../../core/resources/mach-services.ts";

/**
 * heldRef/releaseHeld (macOS 26 only): the vmnet_network_ref this process holds for a network, for
 * VZVmnetNetworkDeviceAttachment (vz.ts nicAttachment), and dropping that hold.
 */
export type DarwinPlatform = Platform & VmnetPortOpener & TapOpener & {
  heldRef?(name: string): number | null;
  releaseHeld?(name: string): void;
  /**
   * macOS 26, in `vmlan broker`: this process creates the networks it holds (it serves them to the
   * others over XPC) instead of asking a broker. False when this build or macOS has no network API.
   */
  serveNetworks?(): boolean;
};

/** Under the double (VMLAN_VMNET_PATH) there is no signature to look at. */
export function hasEntitlement(): boolean {
  if (process.env.VMLAN_VMNET_PATH) return true;
  const r = Bun.spawnSync(["codesign", "-d", "--entitlements", "-", process.execPath], { stdout: "pipe", stderr: "pipe" });
  return (r.stdout.toString() + r.stderr.toString()).includes("com.apple.security.virtualization");
}

/** How to give a binary the entitlement (shims/entitlements.plist). */
export const SIGN_FIX = "use the release binary, or: codesign --force --sign - --entitlements shims/entitlements.plist $(command -v vmlan)";

/**
 * What vmnet still needs of this process, or null: macOS < 26 root; 26+ root or the
 * com.apple.security.virtualization entitlement (`entitled` is asked only when it matters).
 * The one rule behind checkPrivileges and `vmlan doctor` (doctor.ts).
 */
export function privilegeGap(major: number, root: boolean, entitled: () => boolean): "root" | "entitlement" | null {
  if (root) return null;
  if (major < NETWORKS_SINCE) return "root";
  return entitled() ? null : "entitlement";
}

export function checkPrivileges(major: number): void {
  const gap = privilegeGap(major, process.geteuid?.() === 0, hasEntitlement);
  if (gap === "root") {
    throw new PermissionError(`on macOS ${major} vmnet needs root: run vmlan with sudo (macOS ${NETWORKS_SINCE} runs unprivileged with the virtualization entitlement)`, { details: { macos: major } });
  }
  if (gap === "entitlement") {
    throw new PermissionError(`${process.execPath} lacks the com.apple.security.virtualization entitlement that vmnet needs: ${SIGN_FIX}`, { details: { macos: major } });
  }
}

/** A started interface as the numbers the forwarding Workers take; close() stops it (then `after`). */
export function hostPort(iface: VmnetInterface, after: () => void = () => {}): VmnetHostPort {
  return {
    ref: iface.unsafeRef, eventFd: iface.eventFd(), mac: iface.macAddress, maxPacketSize: iface.maxPacketSize,
    readMaxPackets: iface.readMaxPackets, writeMaxPackets: iface.writeMaxPackets, params: iface.params,
    close: () => {
      try {
        iface.stop();
      } finally {
        after();
      }
    },
  };
}

/** The helper, root through sudo: the interface runs, so root goes (privileges.ts); a failed drop stops it. */
export function dropOrStop(port: VmnetHostPort): void {
  try {
    dropPrivileges((m) => process.stderr.write(`vmlan helper: ${m}\n`));
  } catch (e) {
    port.close();
    throw e;
  }
}

/**
 * The broker's openTap: the interface runs in the broker, the VM gets a datagram fd, and every frame
 * is copied by the broker. That is the only shared path on macOS 15 and older; on macOS 26 (`native`)
 * clients can take the network itself from the broker's XPC service instead, and the log says so.
 */
export function brokerOpener(openVmnetPort: VmnetPortOpener["openVmnetPort"], native = false): TapOpener["openTap"] {
  const log = (m: string) => process.stderr.write(`vmlan: ${m}\n`);
  return (spec: HostNetworkSpec) => {
    if (native) log(`a frame-copying port on ${spec.name}: on macOS 26 a VM or helper attaches natively by taking the network from the Mach service ${VMLAN_MACH_SERVICE} instead (vmlan helper with or without --broker, vm run)`);
    return openBrokerPort({ openVmnetPort }, spec, log);
  };
}

/**
 * MTUs a macOS VM's NIC takes: VZFileHandleNetworkDeviceAttachment.maximumTransmissionUnit "The
 * maximum MTU allowed is 65535, and the minimum MTU allowed is 1500" (Apple's documentation).
 */
export const DARWIN_MTU_RANGE = { min: 1500, max: 65535, why: "macOS: Virtualization.framework takes 1500..65535 for a VM's NIC" } as const;

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** vmnet takes the id as an XPC UUID (the same id gives the same MAC); other ids are vmlan's only. */
export const vmnetInterfaceId = (id: string | undefined) => (id && UUID.test(id) ? id : undefined);

/**
 * A bridged network's port (both macOS generations): the classic API in VMNET_BRIDGED_MODE on the
 * uplink; vmnet does the bridging, and the LAN's DHCP server gives the VM its address.
 */
export function bridgedPort(spec: HostNetworkSpec, o: { interfaceId?: string; dropPrivileges?: boolean }): VmnetHostPort {
  let port: VmnetHostPort;
  try {
    port = hostPort(VmnetInterface.start({ mode: "bridged", sharedInterface: spec.uplink ?? undefined, interfaceId: vmnetInterfaceId(o.interfaceId) }));
  } catch (e) {
    throw explain(e, `vmnet bridged interface on ${spec.uplink} (${spec.name})`);
  }
  if (o.dropPrivileges) dropOrStop(port);
  return port;
}
