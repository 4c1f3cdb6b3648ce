/*
 * Port forwarding on a started interface (vmnet_interface_{add,remove}_ip_port_forwarding_rule,
 * Apple's vmnet documentation: macOS 11+, below this shim's minimum): synchronous for bun:ffi, waiting
 * on a semaphore for the completion block like start and stop do. family is 4 or 6 (JS need not know
 * this OS's AF_INET6); ports in host byte order. For classic interfaces (platform/darwin/ports.ts);
 * a macOS 26 network takes its rules in its configuration instead (vmnet-network.c).
 */
#include <sys/socket.h>
#include "vmnet-shim.h"

#define FORWARD_TIMEOUT_NS (10 * NSEC_PER_SEC)

struct vmlan_iface;
interface_ref vmlan_iface_ref(struct vmlan_iface *h); /* vmnet-trampolines.c */

static vmnet_return_t forward_wait(vmnet_return_t (^call)(vmnet_interface_completion_handler_t)) {
  __block vmnet_return_t result = VMNET_FAILURE;
  dispatch_semaphore_t done = dispatch_semaphore_create(0);
  vmnet_return_t st = call(^(vmnet_return_t status) {
    result = status;
    dispatch_semaphore_signal(done);
  });
  /* A refused call should run no handler, but nothing documents that: like a stuck one, it leaves
   * `done` (a few bytes) to any late block rather than risk a signal on a released semaphore. */
  if (st != VMNET_SUCCESS) return st;
  if (dispatch_semaphore_wait(done, dispatch_time(DISPATCH_TIME_NOW, (int64_t)FORWARD_TIMEOUT_NS)) != 0) return VMNET_FAILURE;
  dispatch_release(done);
  return result;
}

/* platform/darwin/vmnet-interface.ts addForward: one rule, external (host) port → internal address:port. */
EXPORT vmnet_return_t vmlan_interface_add_forward(struct vmlan_iface *h, uint8_t protocol, uint16_t external_port, uint8_t family,
                                                  const uint8_t *address, uint16_t internal_port) {
  interface_ref ref = vmlan_iface_ref(h);
  if (!ref || (family != 4 && family != 6) || !address) return VMNET_INVALID_ARGUMENT;
  uint8_t af = family == 4 ? AF_INET : AF_INET6;
  return forward_wait(^vmnet_return_t(vmnet_interface_completion_handler_t done) {
    return vmnet_interface_add_ip_port_forwarding_rule(ref, protocol, external_port, af, address, internal_port, done);
  });
}

EXPORT vmnet_return_t vmlan_interface_remove_forward(struct vmlan_iface *h, uint8_t protocol, uint16_t external_port, uint8_t family) {
  interface_ref ref = vmlan_iface_ref(h);
  if (!ref || (family != 4 && family != 6)) return VMNET_INVALID_ARGUMENT;
  uint8_t af = family == 4 ? AF_INET : AF_INET6;
  return forward_wait(^vmnet_return_t(vmnet_interface_completion_handler_t done) {
    return vmnet_interface_remove_ip_port_forwarding_rule(ref, protocol, external_port, af, done);
  });
}
