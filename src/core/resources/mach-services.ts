/**
 * The Mach service names of the macOS broker (its XPC service; docs/macos.md). vmlan's own, and
 * vmnet-broker's (nirs/vmnet-broker include/vmnet-broker.h: MACH_SERVICE_NAME), which `vmlan broker
 * --vmnet-broker-name` also serves so vmnet-broker's clients (vmnet-helper --network) work against it.
 */
export const VMLAN_MACH_SERVICE = "dev.vmlan.broker";
/** The launchd job that runs the broker (`vmlan system install`): named after its own service. */
export const LAUNCHD_LABEL = VMLAN_MACH_SERVICE;
export const VMNET_BROKER_SERVICE = "com.github.nirs.vmnet-broker";
/** A name a launchd plist can advertise and a flag may give. */
export const MACH_SERVICE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;
