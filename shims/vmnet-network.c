/*
 * macOS 26 network objects for bun:ffi: create a network from plain arguments the way
 * apple/container does (DHCP off, gateway address + mask, prefix, MTU; native-facts §B.1), report its
 * subnet as JSON, start an interface on it, and move its serialization to and from a flat byte
 * buffer when it is plain data (vmnet-flat.h; the decision is in docs/macos.md).
 * Built with an SDK older than macOS 26 (Xcode 16 and earlier), every export reports
 * VMLAN_UNSUPPORTED_SDK, as vmnet-helper's `#if __MAC_OS_X_VERSION_MAX_ALLOWED >= 260000` does; at
 * run time each export checks __builtin_available first (the calls are weak below macOS 26).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vmnet-shim.h"
#include "vmnet-flat.h"
#include "vmnet-forward.h"

enum { N_DISABLE_DHCP = 1, N_DISABLE_NAT44 = 2, N_DISABLE_NAT66 = 4, N_DISABLE_DNS_PROXY = 8 };
static void set_status(vmnet_return_t *status, vmnet_return_t v) { if (status) *status = v; }

/* 1 when this shim can create networks on this macOS (built with the 26 SDK, running on 26+). */
EXPORT int32_t vmlan_network_api(void) {
#if VMLAN_HAVE_NETWORK_API
  if (__builtin_available(macOS 26.0, *)) return 1;
#endif
  return 0;
}

#if VMLAN_HAVE_NETWORK_API
void json_network(vmnet_network_ref net, struct out *o) {
  struct in_addr a, m;
  struct in6_addr p;
  uint8_t len = 0;
  char s[INET6_ADDRSTRLEN], n[16];
  vmnet_network_get_ipv4_subnet(net, &a, &m);
  vmnet_network_get_ipv6_prefix(net, &p, &len);
  json_key(o, "net_ipv4_subnet"), json_string(o, inet_ntop(AF_INET, &a, s, sizeof s));
  json_key(o, "net_ipv4_mask"), json_string(o, inet_ntop(AF_INET, &m, s, sizeof s));
  json_key(o, "net_ipv6_prefix"), json_string(o, inet_ntop(AF_INET6, &p, s, sizeof s));
  snprintf(n, sizeof n, "%u", len);
  json_key(o, "net_ipv6_prefix_len"), json_put(o, n);
}

VMLAN_MACOS26 static vmnet_network_ref create(uint32_t mode, const char *gateway4, const char *mask4, const char *prefix6,
                                              uint32_t prefix_len, uint32_t mtu, uint32_t flags,
                                              const struct vmlan_forward *rules, uint32_t count, vmnet_return_t *status) {
  vmnet_network_configuration_ref cfg = vmnet_network_configuration_create(mode, status);
  if (!cfg) return NULL;
  vmnet_return_t st = VMNET_SUCCESS;
  if (flags & N_DISABLE_DHCP) vmnet_network_configuration_disable_dhcp(cfg);
  if (flags & N_DISABLE_NAT44) vmnet_network_configuration_disable_nat44(cfg);
  if (flags & N_DISABLE_NAT66) vmnet_network_configuration_disable_nat66(cfg);
  if (flags & N_DISABLE_DNS_PROXY) vmnet_network_configuration_disable_dns_proxy(cfg);
  if (gateway4 && mask4) {
    struct in_addr a, m;
    if (inet_pton(AF_INET, gateway4, &a) != 1 || inet_pton(AF_INET, mask4, &m) != 1) st = VMNET_INVALID_ARGUMENT;
    else st = vmnet_network_configuration_set_ipv4_subnet(cfg, &a, &m);
  }
  if (st == VMNET_SUCCESS && prefix6) {
    struct in6_addr p;
    if (inet_pton(AF_INET6, prefix6, &p) != 1 || prefix_len > 128) st = VMNET_INVALID_ARGUMENT;
    else st = vmnet_network_configuration_set_ipv6_prefix(cfg, &p, (uint8_t)prefix_len);
  }
  if (st == VMNET_SUCCESS && mtu) st = vmnet_network_configuration_set_mtu(cfg, mtu);
  /* Published ports: a macOS 26 network takes its forwarding rules here only, before it exists. */
  for (uint32_t k = 0; st == VMNET_SUCCESS && k < count; k++) {
    const struct vmlan_forward *r = &rules[k];
    if (r->family != 4 && r->family != 6) st = VMNET_INVALID_ARGUMENT;
    else st = vmnet_network_configuration_add_port_forwarding_rule(cfg, r->protocol, r->family == 4 ? AF_INET : AF_INET6,
                                                                   r->internal_port, r->external_port, r->address);
  }
  vmnet_network_ref net = NULL;
  if (st == VMNET_SUCCESS) net = vmnet_network_create(cfg, &st);
  CFRelease(cfg);
  set_status(status, st);
  return net;
}
#endif

/*
 * platform/darwin/network.ts createNetwork(). gateway4/mask4 dotted strings (or NULL for vmnet's
 * default /24), prefix6 an IPv6 address string (or NULL for a random ULA /64), mtu 0 = default.
 * Returns the network (release with vmlan_network_release) or NULL with *status set.
 */
EXPORT void *vmlan_network_create(uint32_t mode, const char *gateway4, const char *mask4, const char *prefix6,
                                  uint32_t prefix_len, uint32_t mtu, uint32_t flags, vmnet_return_t *status) {
#if VMLAN_HAVE_NETWORK_API
  if (__builtin_available(macOS 26.0, *)) return create(mode, gateway4, mask4, prefix6, prefix_len, mtu, flags, NULL, 0, status);
#endif
  (void)mode, (void)gateway4, (void)mask4, (void)prefix6, (void)prefix_len, (void)mtu, (void)flags;
  set_status(status, VMLAN_UNSUPPORTED_SDK);
  return NULL;
}

/* The same with `count` forwarding rules (shims/vmnet-forward.h; platform/darwin/ports.ts writes them). */
EXPORT void *vmlan_network_create_forwarding(uint32_t mode, const char *gateway4, const char *mask4, const char *prefix6,
                                             uint32_t prefix_len, uint32_t mtu, uint32_t flags,
                                             const struct vmlan_forward *rules, uint32_t count, vmnet_return_t *status) {
#if VMLAN_HAVE_NETWORK_API
  if (__builtin_available(macOS 26.0, *)) return create(mode, gateway4, mask4, prefix6, prefix_len, mtu, flags, rules, count, status);
#endif
  (void)mode, (void)gateway4, (void)mask4, (void)prefix6, (void)prefix_len, (void)mtu, (void)flags, (void)rules, (void)count;
  set_status(status, VMLAN_UNSUPPORTED_SDK);
  return NULL;
}

/* {"net_ipv4_subnet":...,"net_ipv4_mask":...,"net_ipv6_prefix":...,"net_ipv6_prefix_len":N}; -1 if it does not fit. */
EXPORT int32_t vmlan_network_info(void *net, char *json, size_t cap) {
  if (cap) json[0] = 0;
#if VMLAN_HAVE_NETWORK_API
  if (__builtin_available(macOS 26.0, *)) {
    struct out o = {json, cap, 0};
    json_put(&o, "{");
    json_network(net, &o);
    json_put(&o, "}");
    return o.len < cap ? (int32_t)o.len : -1;
  }
#endif
  (void)net;
  return -1;
}

/*
 * Serialization → bytes. Returns the length, -1 when vmnet refused (*status says why),
 * VMLAN_FLAT_NOT_PLAIN (-2) when the object holds something only XPC can move,
 * VMLAN_FLAT_TOO_SMALL (-3) when cap is too small (*status then holds the needed length).
 */
EXPORT int64_t vmlan_network_serialize(void *net, uint8_t *buf, size_t cap, uint32_t *status) {
  vmnet_return_t st = VMLAN_UNSUPPORTED_SDK;
  xpc_object_t ser = NULL;
#if VMLAN_HAVE_NETWORK_API
  if (__builtin_available(macOS 26.0, *)) ser = vmnet_network_copy_serialization(net, &st);
#else
  (void)net;
#endif
  if (status) *status = st;
  if (!ser) return -1;
  struct flat_w w = {buf, cap, 0, 0};
  flat_put(&w, "VMLX\1", 5);
  flat_encode(&w, ser, 0);
  xpc_release(ser);
  if (w.err == VMLAN_FLAT_TOO_SMALL && status) *status = (uint32_t)w.len;
  return w.err ? w.err : (int64_t)w.len;
}

/* Bytes → network (vmnet_network_create_with_serialization). NULL with *status on failure. */
EXPORT void *vmlan_network_deserialize(const uint8_t *buf, size_t len, vmnet_return_t *status) {
  struct flat_r r = {buf, len, 0, 0};
  const uint8_t *magic = flat_take(&r, 5);
  xpc_object_t ser = magic && memcmp(magic, "VMLX\1", 5) == 0 ? flat_decode(&r, 0) : NULL;
  if (!ser || r.off != len) {
    if (ser) xpc_release(ser);
    set_status(status, VMNET_INVALID_ARGUMENT);
    return NULL;
  }
  void *net = NULL;
  set_status(status, VMLAN_UNSUPPORTED_SDK);
#if VMLAN_HAVE_NETWORK_API
  if (__builtin_available(macOS 26.0, *)) net = vmnet_network_create_with_serialization(ser, status);
#endif
  xpc_release(ser);
  return net;
}

/* startInterfaceOnNetwork(): macOS 26. The interface id is ignored by vmnet there, so it is not sent. */
EXPORT vmnet_return_t vmlan_vmnet_start_with_network(void *net, uint32_t flags, char *json, size_t cap, struct vmlan_iface **out) {
  *out = NULL;
#if VMLAN_HAVE_NETWORK_API
  if (__builtin_available(macOS 26.0, *)) {
    xpc_object_t desc = xpc_dictionary_create(NULL, NULL, 0);
    xpc_dictionary_set_bool(desc, vmnet_allocate_mac_address_key, false);
    xpc_dictionary_set_bool(desc, vmnet_enable_isolation_key, flags & VMLAN_F_ISOLATION);
    if (!vmlan_offload_keys(desc, flags)) {
      xpc_release(desc);
      return VMLAN_UNSUPPORTED_KEY;
    }
    return vmlan_start_common(^interface_ref(dispatch_queue_t q, vmnet_start_interface_completion_handler_t handler) {
      return vmnet_interface_start_with_network(net, desc, q, handler);
    }, desc, ^(struct out *o) { json_network(net, o); }, json, cap, out);
  }
#endif
  (void)net, (void)flags, (void)json, (void)cap;
  return VMLAN_UNSUPPORTED_SDK;
}

/* Drops this process's reference; the reservation ends with the last one (interfaces hold one too). */
EXPORT void vmlan_network_release(void *net) {
  if (net) CFRelease(net);
}
