/*
 * macOS 26 network objects for bun:ffi (part of vmnet-trampolines.c's translation unit): create a
 * network from plain arguments the way apple/container does (DHCP off, gateway address + mask,
 * prefix, MTU; native-facts §B.1), report its subnet as JSON, and move its serialization to and from
 * a flat byte buffer when it is plain data (vmnet-flat.h; the decision is in docs/macos.md).
 * On macOS these need the macOS 26 SDK and must only be called on macOS 26 or later.
 */
#ifndef VMLAN_VMNET_NETWORK_H
#define VMLAN_VMNET_NETWORK_H

enum { N_DISABLE_DHCP = 1, N_DISABLE_NAT44 = 2, N_DISABLE_NAT66 = 4 };

/*
 * platform/darwin/network.ts createNetwork(). gateway4/mask4 dotted strings (or NULL for vmnet's
 * default /24), prefix6 an IPv6 address string (or NULL for a random ULA /64), mtu 0 = default.
 * Returns the network (release with vmlan_network_release) or NULL with *status set.
 */
EXPORT vmnet_network_ref vmlan_network_create(uint32_t mode, const char *gateway4, const char *mask4, const char *prefix6,
                                              uint32_t prefix_len, uint32_t mtu, uint32_t flags, vmnet_return_t *status) {
  vmnet_network_configuration_ref cfg = vmnet_network_configuration_create(mode, status);
  if (!cfg) return NULL;
  vmnet_return_t st = VMNET_SUCCESS;
  if (flags & N_DISABLE_DHCP) vmnet_network_configuration_disable_dhcp(cfg);
  if (flags & N_DISABLE_NAT44) vmnet_network_configuration_disable_nat44(cfg);
  if (flags & N_DISABLE_NAT66) vmnet_network_configuration_disable_nat66(cfg);
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
  vmnet_network_ref net = NULL;
  if (st == VMNET_SUCCESS) net = vmnet_network_create(cfg, &st);
  CFRelease(cfg);
  if (status) *status = st;
  return net;
}

/* {"net_ipv4_subnet":...,"net_ipv4_mask":...,"net_ipv6_prefix":...,"net_ipv6_prefix_len":N}; -1 if it does not fit. */
EXPORT int32_t vmlan_network_info(vmnet_network_ref net, char *json, size_t cap) {
  struct out o = {json, cap, 0};
  if (cap) json[0] = 0;
  put(&o, "{");
  network_json(net, &o);
  put(&o, "}");
  return o.len < cap ? (int32_t)o.len : -1;
}

/*
 * Serialization → bytes. Returns the length, -1 when vmnet refused (*status says why),
 * VMLAN_FLAT_NOT_PLAIN (-2) when the object holds something only XPC can move,
 * VMLAN_FLAT_TOO_SMALL (-3) when cap is too small (*status then holds the needed length).
 */
EXPORT int64_t vmlan_network_serialize(vmnet_network_ref net, uint8_t *buf, size_t cap, uint32_t *status) {
  vmnet_return_t st = VMNET_FAILURE;
  xpc_object_t ser = vmnet_network_copy_serialization(net, &st);
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
EXPORT vmnet_network_ref vmlan_network_deserialize(const uint8_t *buf, size_t len, vmnet_return_t *status) {
  struct flat_r r = {buf, len, 0, 0};
  const uint8_t *magic = flat_take(&r, 5);
  xpc_object_t ser = magic && memcmp(magic, "VMLX\1", 5) == 0 ? flat_decode(&r, 0) : NULL;
  if (!ser || r.off != len) {
    if (ser) xpc_release(ser);
    if (status) *status = VMNET_INVALID_ARGUMENT;
    return NULL;
  }
  vmnet_network_ref net = vmnet_network_create_with_serialization(ser, status);
  xpc_release(ser);
  return net;
}

/* Drops this process's reference; the reservation ends with the last one (interfaces hold one too). */
EXPORT void vmlan_network_release(vmnet_network_ref net) {
  if (net) CFRelease(net);
}

#endif
