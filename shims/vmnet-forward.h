/*
 * A published port as vmnet_network_configuration_add_port_forwarding_rule takes it, in the array
 * vmlan_network_create_forwarding reads (vmnet-network.c). platform/darwin/ports.ts writes these, 24
 * bytes each, laid out as ffi/vmnet/structs.ts vmlan_forward says (test/ffi/vmnet-layout.test.ts
 * checks it): protocol IPPROTO_TCP/UDP, family 4 or 6, ports in host byte order.
 */
#ifndef VMLAN_VMNET_FORWARD_H
#define VMLAN_VMNET_FORWARD_H
#include <stdint.h>

struct vmlan_forward {
  uint8_t protocol, family;
  uint16_t internal_port, external_port;
  uint8_t pad[2];
  uint8_t address[16]; /* an in_addr in the first 4 bytes for family 4 */
};

#endif
