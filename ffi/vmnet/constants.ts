/**
 * vmnet numbers (<vmnet/vmnet.h>; native-facts §A 5.1). shims/vmnet.h carries the same values for the
 * Linux double, and test/ffi/vmnet-layout.test.ts compares the two.
 */

/** vmnet_return_t */
export const VMNET_SUCCESS = 1000;
export const VMNET_FAILURE = 1001;
export const VMNET_MEM_FAILURE = 1002;
export const VMNET_INVALID_ARGUMENT = 1003;
export const VMNET_SETUP_INCOMPLETE = 1004;
export const VMNET_INVALID_ACCESS = 1005;
export const VMNET_PACKET_TOO_BIG = 1006;
export const VMNET_BUFFER_EXHAUSTED = 1007;
export const VMNET_TOO_MANY_PACKETS = 1008;
/** macOS 11+: the subnet is owned by another sharing service (Internet Sharing, another VM tool). */
export const VMNET_SHARING_SERVICE_BUSY = 1009;
export const VMNET_NOT_AUTHORIZED = 1010;

/**
 * Not vmnet's: statuses of the shim itself (shims/vmnet-shim.h). The shim was built with an SDK
 * before macOS 26 or runs on an older macOS (no network API); a requested option's key (checksum
 * offload) does not exist on this macOS.
 */
export const VMLAN_UNSUPPORTED_SDK = 1099;
export const VMLAN_UNSUPPORTED_KEY = 1098;

export const VMNET_RETURN_NAMES: Readonly<Record<number, string>> = {
  1000: "VMNET_SUCCESS", 1001: "VMNET_FAILURE", 1002: "VMNET_MEM_FAILURE", 1003: "VMNET_INVALID_ARGUMENT",
  1004: "VMNET_SETUP_INCOMPLETE", 1005: "VMNET_INVALID_ACCESS", 1006: "VMNET_PACKET_TOO_BIG",
  1007: "VMNET_BUFFER_EXHAUSTED", 1008: "VMNET_TOO_MANY_PACKETS", 1009: "VMNET_SHARING_SERVICE_BUSY",
  1010: "VMNET_NOT_AUTHORIZED",
  1098: "an option this macOS's vmnet does not have", 1099: "no macOS 26 network API in this build or on this macOS",
};

/** operating_modes_t / vmnet_mode_t */
export const VMNET_HOST_MODE = 1000;
export const VMNET_SHARED_MODE = 1001;
/** macOS 10.15+; not accepted by the macOS 26 network API. */
export const VMNET_BRIDGED_MODE = 1002;

/** interface_event_t */
export const VMNET_INTERFACE_PACKETS_AVAILABLE = 1 << 0;

/** Flags of vmlan_vmnet_start / vmlan_vmnet_start_with_network (shims/vmnet-trampolines.c). */
export const START_ISOLATION = 1;
export const START_TSO = 2;
export const START_CHECKSUM_OFFLOAD = 4;

/** Flags of vmlan_network_create (shims/vmnet-network.c). */
export const NETWORK_DISABLE_DHCP = 1;
export const NETWORK_DISABLE_NAT44 = 2;
export const NETWORK_DISABLE_NAT66 = 4;
/** vmnet's DNS proxy answers on the gateway's port 53, where vmlan's DNS serves the guests' names. */
export const NETWORK_DISABLE_DNS_PROXY = 8;

/** vmlan_network_serialize results below 0 (shims/vmnet-flat.h). */
export const SERIALIZE_VMNET_ERROR = -1;
export const SERIALIZE_NOT_PLAIN = -2;
export const SERIALIZE_TOO_SMALL = -3;

/** Per-call packet limit before macOS 15 reported one ("up to 200 packets"; QEMU VMNET_PACKETS_LIMIT). */
export const VMNET_LEGACY_MAX_PACKETS = 200;

/** Default library locations. */
export const VMNET_FRAMEWORK_PATH = "/System/Library/Frameworks/vmnet.framework/vmnet";
