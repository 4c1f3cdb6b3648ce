/*
 * vz.m — Virtualization.framework behind a plain C ABI for bun:ffi (ffi/vz/symbols.ts).
 *
 * NOT COMPILED HERE: this file needs the macOS SDK (Virtualization.framework, Foundation, vmnet), which
 * no Linux machine has; it was written against Apple's documentation and never built or run by the
 * engineer who wrote it. scripts/verify-macos.sh builds it on a Mac:
 *   xcrun clang -fobjc-arc -dynamiclib -mmacosx-version-min=12.0 -Wno-unguarded-availability-new \
 *     -framework Foundation -framework Virtualization -framework vmnet -o libvmlan-vz.dylib shims/vz.m
 * The process that loads it must carry com.apple.security.virtualization (shims/entitlements.plist).
 *
 * Shape: build a configuration (kernel, initrd, command line, CPUs, memory, a virtio console on fds,
 * disks, NICs), then start it. NICs attach either to a datagram fd (VZFileHandleNetworkDeviceAttachment:
 * one Ethernet frame per datagram, the vmlan helper/broker format) or to a macOS 26 vmnet network
 * (VZVmnetNetworkDeviceAttachment; Apple: "a VM can only use the network that the same application
 * process creates", so the process running the VM must own the vmnet_network_ref).
 * Every VZVirtualMachine call runs on the VM's own serial queue; start/stop wait on a semaphore, so
 * no block and no Objective-C object ever reaches JS. Handles are retained pointers (CFBridgingRetain)
 * freed by vmlan_vz_free. Errors come back as text in a caller buffer.
 */
#import <Foundation/Foundation.h>
#import <Virtualization/Virtualization.h>
#include <vmnet/vmnet.h>

#define EXPORT __attribute__((visibility("default")))
#define WAIT_NS (30 * NSEC_PER_SEC)

@interface VmlanVzConfig : NSObject
@property(strong) VZVirtualMachineConfiguration *config;
@property(strong) NSMutableArray *disks, *nics;
@end
@implementation VmlanVzConfig
@end

@interface VmlanVzMachine : NSObject <VZVirtualMachineDelegate>
@property(strong) VZVirtualMachine *vm;
@property(strong) dispatch_queue_t queue;
@property(atomic) int exitReason; /* 0 running, 1 guest stopped, 2 stopped with an error */
@end
@implementation VmlanVzMachine
- (void)guestDidStopVirtualMachine:(VZVirtualMachine *)vm { self.exitReason = 1; }
- (void)virtualMachine:(VZVirtualMachine *)vm didStopWithError:(NSError *)error { self.exitReason = 2; }
@end

static void put_error(char *buf, size_t cap, NSString *what, NSError *e) {
  if (!buf || cap == 0) return;
  NSString *s = e ? [NSString stringWithFormat:@"%@: %@", what, e.localizedDescription] : what;
  snprintf(buf, cap, "%s", s.UTF8String ?: "unknown error");
}

static NSURL *file_url(const char *path) { return path && *path ? [NSURL fileURLWithPath:@(path)] : nil; }

/* 1 when this Mac can run VMs at all (VZVirtualMachine.isSupported: hardware + entitlement-independent). */
EXPORT int vmlan_vz_supported(void) { return VZVirtualMachine.isSupported ? 1 : 0; }

/*
 * 1 when nested virtualization can be enabled (VZGenericPlatformConfiguration
 * .isNestedVirtualizationSupported: macOS 15+ on Apple M3 or later), 0 otherwise or on older macOS.
 */
EXPORT int vmlan_vz_nested_supported(void) {
  if (@available(macOS 15.0, *)) return VZGenericPlatformConfiguration.isNestedVirtualizationSupported ? 1 : 0;
  return 0;
}

/*
 * A new configuration: Linux boot loader (kernel, optional initrd, command line), CPU count, memory in
 * bytes, a virtio console reading console_in_fd and writing console_out_fd (-1: none; the fds stay
 * the caller's), an entropy device and a memory balloon. NULL with err filled on a bad argument.
 */
EXPORT void *vmlan_vz_config_new(const char *kernel, const char *initrd, const char *cmdline, uint32_t cpus,
                                 uint64_t memory, int console_in_fd, int console_out_fd, char *err, size_t cap) {
  @autoreleasepool {
    if (!kernel || !*kernel) { put_error(err, cap, @"a kernel path is required", nil); return NULL; }
    VZLinuxBootLoader *boot = [[VZLinuxBootLoader alloc] initWithKernelURL:file_url(kernel)];
    if (initrd && *initrd) boot.initialRamdiskURL = file_url(initrd);
    if (cmdline) boot.commandLine = @(cmdline);
    VZVirtualMachineConfiguration *c = [[VZVirtualMachineConfiguration alloc] init];
    c.bootLoader = boot;
    c.platform = [[VZGenericPlatformConfiguration alloc] init];
    c.CPUCount = cpus;
    c.memorySize = memory;
    if (console_in_fd >= 0 || console_out_fd >= 0) {
      NSFileHandle *in = console_in_fd >= 0 ? [[NSFileHandle alloc] initWithFileDescriptor:console_in_fd closeOnDealloc:NO] : nil;
      NSFileHandle *out = console_out_fd >= 0 ? [[NSFileHandle alloc] initWithFileDescriptor:console_out_fd closeOnDealloc:NO] : nil;
      VZVirtioConsoleDeviceSerialPortConfiguration *serial = [[VZVirtioConsoleDeviceSerialPortConfiguration alloc] init];
      serial.attachment = [[VZFileHandleSerialPortAttachment alloc] initWithFileHandleForReading:in fileHandleForWriting:out];
      c.serialPorts = @[ serial ];
    }
    c.entropyDevices = @[ [[VZVirtioEntropyDeviceConfiguration alloc] init] ];
    c.memoryBalloonDevices = @[ [[VZVirtioTraditionalMemoryBalloonDeviceConfiguration alloc] init] ];
    VmlanVzConfig *h = [[VmlanVzConfig alloc] init];
    h.config = c;
    h.disks = [NSMutableArray array];
    h.nics = [NSMutableArray array];
    return (void *)CFBridgingRetain(h);
  }
}

/* Adds a virtio block device backed by a raw disk image. 0 on success, -1 with err filled. */
EXPORT int vmlan_vz_config_add_disk(void *cfg, const char *path, int read_only, char *err, size_t cap) {
  @autoreleasepool {
    VmlanVzConfig *h = (__bridge VmlanVzConfig *)cfg;
    NSError *e = nil;
    VZDiskImageStorageDeviceAttachment *a = [[VZDiskImageStorageDeviceAttachment alloc] initWithURL:file_url(path) readOnly:read_only != 0 error:&e];
    if (!a) { put_error(err, cap, [NSString stringWithFormat:@"disk %s", path], e); return -1; }
    [h.disks addObject:[[VZVirtioBlockDeviceConfiguration alloc] initWithAttachment:a]];
    return 0;
  }
}

static int add_nic(VmlanVzConfig *h, VZNetworkDeviceAttachment *a, const char *mac, char *err, size_t cap) {
  VZVirtioNetworkDeviceConfiguration *nic = [[VZVirtioNetworkDeviceConfiguration alloc] init];
  nic.attachment = a;
  if (mac && *mac) {
    VZMACAddress *m = [[VZMACAddress alloc] initWithString:@(mac)];
    if (!m) { put_error(err, cap, [NSString stringWithFormat:@"invalid MAC address %s", mac], nil); return -1; }
    nic.MACAddress = m;
  }
  [h.nics addObject:nic];
  return 0;
}

/*
 * Adds a virtio NIC on a connected unix datagram socket (one Ethernet frame per datagram; the VM end
 * of `vmlan helper`'s or the broker's socketpair). mtu is the network's: 0 keeps VZ's default (1500);
 * VZ accepts 1500..65535 ("An invalid MTU value results in an invalid virtual machine
 * configuration", maximumTransmissionUnit, macOS 13+), so anything else is refused here with a
 * clear error (vmlan network create refuses such MTUs on macOS). The fd stays the caller's until
 * vmlan_vz_free. 0 on success, -1 with err filled.
 */
EXPORT int vmlan_vz_config_add_nic_fd(void *cfg, int fd, const char *mac, uint32_t mtu, char *err, size_t cap) {
  @autoreleasepool {
    if (mtu && (mtu < 1500 || mtu > 65535)) {
      put_error(err, cap, [NSString stringWithFormat:@"MTU %u: Virtualization.framework takes 1500..65535 for a file-handle NIC", mtu], nil);
      return -1;
    }
    NSFileHandle *fh = [[NSFileHandle alloc] initWithFileDescriptor:fd closeOnDealloc:NO];
    VZFileHandleNetworkDeviceAttachment *a = [[VZFileHandleNetworkDeviceAttachment alloc] initWithFileHandle:fh];
    if (mtu && mtu != 1500) {
      if (@available(macOS 13.0, *)) a.maximumTransmissionUnit = mtu;
      else {
        put_error(err, cap, [NSString stringWithFormat:@"MTU %u on a file-handle NIC needs macOS 13", mtu], nil);
        return -1;
      }
    }
    return add_nic((__bridge VmlanVzConfig *)cfg, a, mac, err, cap);
  }
}

/*
 * Adds a virtio NIC on a macOS 26 vmnet network created by THIS process (vmnet_network_create; see the
 * header). -1 with err filled on older macOS.
 */
EXPORT int vmlan_vz_config_add_nic_network(void *cfg, void *network, const char *mac, char *err, size_t cap) {
  @autoreleasepool {
    if (@available(macOS 26.0, *)) {
      VZVmnetNetworkDeviceAttachment *a = [[VZVmnetNetworkDeviceAttachment alloc] initWithNetwork:(vmnet_network_ref)network];
      if (!a) {
        /* Apple: nil "if there was an error", e.g. a network another application's VM created. */
        put_error(err, cap, @"VZVmnetNetworkDeviceAttachment refused this vmnet network (Apple allows only a network "
                            @"this application created; another program's network needs a helper NIC)", nil);
        return -1;
      }
      return add_nic((__bridge VmlanVzConfig *)cfg, a, mac, err, cap);
    }
    put_error(err, cap, @"VZVmnetNetworkDeviceAttachment needs macOS 26", nil);
    return -1;
  }
}

/* Turns nested virtualization on or off (macOS 15+, M3+). -1 with err filled when unsupported. */
EXPORT int vmlan_vz_config_set_nested(void *cfg, int on, char *err, size_t cap) {
  VmlanVzConfig *h = (__bridge VmlanVzConfig *)cfg;
  if (@available(macOS 15.0, *)) {
    if (on && !VZGenericPlatformConfiguration.isNestedVirtualizationSupported) {
      put_error(err, cap, @"nested virtualization is not supported on this Mac (needs Apple M3 or later)", nil);
      return -1;
    }
    ((VZGenericPlatformConfiguration *)h.config.platform).nestedVirtualizationEnabled = on != 0;
    return 0;
  }
  put_error(err, cap, @"nested virtualization needs macOS 15", nil);
  return on ? -1 : 0;
}

/*
 * Validates the configuration, creates the VM on its own serial queue and starts it; waits for the
 * start completion. Returns a machine handle, or NULL with err filled. The configuration handle stays
 * the caller's (free it with vmlan_vz_free).
 */
EXPORT void *vmlan_vz_start(void *cfg, char *err, size_t cap) {
  @autoreleasepool {
    VmlanVzConfig *h = (__bridge VmlanVzConfig *)cfg;
    h.config.storageDevices = h.disks;
    h.config.networkDevices = h.nics;
    NSError *e = nil;
    if (![h.config validateWithError:&e]) { put_error(err, cap, @"invalid VM configuration", e); return NULL; }
    VmlanVzMachine *m = [[VmlanVzMachine alloc] init];
    m.queue = dispatch_queue_create("dev.vmlan.vz", DISPATCH_QUEUE_SERIAL);
    dispatch_semaphore_t done = dispatch_semaphore_create(0);
    __block NSError *startError = nil;
    dispatch_async(m.queue, ^{
      m.vm = [[VZVirtualMachine alloc] initWithConfiguration:h.config queue:m.queue];
      m.vm.delegate = m;
      [m.vm startWithCompletionHandler:^(NSError *error) {
        startError = error;
        dispatch_semaphore_signal(done);
      }];
    });
    if (dispatch_semaphore_wait(done, dispatch_time(DISPATCH_TIME_NOW, (int64_t)WAIT_NS)) != 0) {
      put_error(err, cap, @"the VM did not start within 30 s", nil);
      /* The start may still complete later: a real reference keeps the machine (and so the VM and its
       * queue) alive for the rest of the process, instead of ARC releasing them when this returns. */
      (void)CFBridgingRetain(m);
      return NULL;
    }
    if (startError) { put_error(err, cap, @"starting the VM failed", startError); return NULL; }
    return (void *)CFBridgingRetain(m);
  }
}

/*
 * The VM's state (VZVirtualMachineState: 0 stopped, 1 running, 2 paused, 3 error, 4 starting,
 * 5 pausing, 6 resuming, 7 stopping, ...) in the low byte, plus 0x100 when the guest shut down and
 * 0x200 when it stopped with an error (from the delegate).
 */
EXPORT int vmlan_vz_state(void *vm) {
  VmlanVzMachine *m = (__bridge VmlanVzMachine *)vm;
  __block int state = 0;
  dispatch_sync(m.queue, ^{ state = (int)m.vm.state; });
  return state | (m.exitReason << 8);
}

/*
 * Stops the VM: force = 0 asks the guest (requestStop: the ACPI power button, returns at once);
 * force = 1 stops it now (stopWithCompletionHandler, macOS 12+) and waits. 0 on success, -1 with err.
 */
EXPORT int vmlan_vz_stop(void *vm, int force, char *err, size_t cap) {
  @autoreleasepool {
    VmlanVzMachine *m = (__bridge VmlanVzMachine *)vm;
    __block NSError *e = nil;
    __block BOOL ok = YES;
    if (!force) {
      dispatch_sync(m.queue, ^{
        NSError *local = nil; /* ARC: a __block variable cannot be an NSError ** out-parameter */
        ok = [m.vm requestStopWithError:&local];
        e = local;
      });
      if (!ok) put_error(err, cap, @"requestStop failed", e);
      return ok ? 0 : -1;
    }
    dispatch_semaphore_t done = dispatch_semaphore_create(0);
    dispatch_async(m.queue, ^{
      [m.vm stopWithCompletionHandler:^(NSError *error) {
        e = error;
        dispatch_semaphore_signal(done);
      }];
    });
    if (dispatch_semaphore_wait(done, dispatch_time(DISPATCH_TIME_NOW, (int64_t)WAIT_NS)) != 0) {
      put_error(err, cap, @"the VM did not stop within 30 s", nil);
      return -1;
    }
    if (e) { put_error(err, cap, @"stopping the VM failed", e); return -1; }
    return 0;
  }
}

/* Releases a configuration or machine handle (a running VM keeps running until stopped). NULL is fine. */
EXPORT void vmlan_vz_free(void *handle) {
  if (handle) CFBridgingRelease(handle);
}
