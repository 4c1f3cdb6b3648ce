/*
 * What the files of libvmlan-vmnet (shims/vmnet-*.c) share: the SDK or the Linux double's header,
 * the export and availability macros, and the small JSON writer the shim answers JS with.
 * Builds on macOS against the SDK (vmnet + libxpc + libdispatch + CoreFoundation) and on Linux
 * against the vmnet double (shims/vmnet.h; test/doubles).
 */
#ifndef VMLAN_VMNET_SHIM_H
#define VMLAN_VMNET_SHIM_H

#ifdef __APPLE__
#include <Block.h>
#include <CoreFoundation/CoreFoundation.h>
#include <dispatch/dispatch.h>
#include <vmnet/vmnet.h>
#include <xpc/xpc.h>
#else
#include <Block.h>
#include "vmnet.h"
#endif
#include <stddef.h>
#include <stdint.h>

#define EXPORT __attribute__((visibility("default")))
#define HIDDEN __attribute__((visibility("hidden")))

/*
 * The macOS 26 network API (vmnet_network_*, vmnet_interface_start_with_network) exists only in
 * the macOS 26 SDK (Xcode 26); vmnet-helper guards it the same way. Without it the network exports
 * stay, so bun:ffi can bind them, and report VMNET_UNSUPPORTED_SDK. On Linux the double has it.
 */
#if !defined(__APPLE__) || (defined(__MAC_OS_X_VERSION_MAX_ALLOWED) && __MAC_OS_X_VERSION_MAX_ALLOWED >= 260000)
#define VMLAN_HAVE_NETWORK_API 1
#else
#define VMLAN_HAVE_NETWORK_API 0
#endif
/* Marks shim functions that call the macOS 26 API; callers check __builtin_available first. */
#ifdef __APPLE__
#define VMLAN_MACOS26 __attribute__((availability(macos, introduced = 26.0)))
#else
#define VMLAN_MACOS26
#endif
/* Not vmnet statuses: this shim was built without the macOS 26 SDK or runs on an older macOS; a
 * requested option's key does not exist on this macOS. ffi/vmnet/constants.ts names them. */
#define VMLAN_UNSUPPORTED_SDK 1099
#define VMLAN_UNSUPPORTED_KEY 1098

/* A bounded JSON writer: len counts what would have been written, so len >= cap means "too small". */
struct out { char *buf; size_t cap, len; };
HIDDEN void json_put(struct out *o, const char *s);
/* A JSON string with ", \ and control characters escaped. */
HIDDEN void json_string(struct out *o, const char *s);
/* ,"key": (the comma only after the first member) */
HIDDEN void json_key(struct out *o, const char *key);
/* interface_param as vmnet-helper prints it: uint64/int64 → number, string, UUID → uppercase; others skipped. */
HIDDEN void json_params(xpc_object_t params, struct out *o);

/* ---- vmnet-trampolines.c, for the network start in vmnet-network.c */
struct vmlan_iface;
typedef interface_ref (^vmlan_starter_t)(dispatch_queue_t queue, vmnet_start_interface_completion_handler_t handler);
HIDDEN vmnet_return_t vmlan_start_common(vmlan_starter_t start, xpc_object_t desc, void (^after_params)(struct out *),
                                         char *json, size_t cap, struct vmlan_iface **out);
/* TSO and checksum-offload keys; false when a requested one does not exist on this macOS. */
HIDDEN bool vmlan_offload_keys(xpc_object_t desc, uint32_t flags);
enum { VMLAN_F_ISOLATION = 1, VMLAN_F_TSO = 2, VMLAN_F_CHECKSUM = 4 };

#if VMLAN_HAVE_NETWORK_API
/* net_* keys for a network, as vmnet-helper appends them with --network (vmnet-network.c). */
HIDDEN void json_network(vmnet_network_ref net, struct out *o) VMLAN_MACOS26;
#endif

#endif
