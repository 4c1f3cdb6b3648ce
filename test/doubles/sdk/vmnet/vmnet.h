/*
 * A stand-in for the macOS SDK's <vmnet/vmnet.h> (with <xpc/xpc.h>, <dispatch/dispatch.h> and
 * <CoreFoundation/CoreFoundation.h> beside it), for compiling the shim for a macOS target on Linux
 * (-fsyntax-only: there is no SDK to link against). The macOS 26 calls carry the availability Apple
 * documents ("macOS 26.0+"), so clang's -Wunguarded-availability-new checks every guard in the shim;
 * -DVMLAN_SDK_WITHOUT_NETWORKS -D__MAC_OS_X_VERSION_MAX_ALLOWED=150000 is an SDK before 26.
 */
#ifndef VMLAN_SDK_STUB_H
#define VMLAN_SDK_STUB_H
#ifndef __MAC_OS_X_VERSION_MAX_ALLOWED
#define __MAC_OS_X_VERSION_MAX_ALLOWED 260000
#endif
#define VMNET_MACOS26 __attribute__((availability(macos, introduced = 26.0)))
#include "../../../../shims/vmnet.h"
#endif
