/**
 * vmnet symbols, data only. Two libraries:
 *  - vmnetSymbols: vmnet.framework itself (Apple's <vmnet/vmnet.h>; native-facts §A 5.2), only the
 *    calls without blocks. The hot path (vmnet_read/vmnet_write) goes straight to vmnet.
 *  - shimSymbols: shims/vmnet-*.c (libvmlan-vmnet), which owns every block (start/stop completions, the event
 *    callback) and reads the `const char *` key variables (bun:ffi opens functions, not data symbols).
 * vmnet_return_t and enums are uint32_t; size_t is u64 on LP64.
 */
import { FFIType, type FFIFunction } from "bun:ffi";

const { u8, u16, u32, i32, ptr, cstring, i64_fast } = FFIType;
const usize = FFIType.u64;

export const vmnetSymbols = {
  /** vmnet_return_t vmnet_read(interface_ref interface, struct vmpktdesc *packets, int *pktcnt) */
  vmnet_read: { args: [ptr, ptr, ptr], returns: u32 },
  /** vmnet_return_t vmnet_write(interface_ref interface, struct vmpktdesc *packets, int *pktcnt) */
  vmnet_write: { args: [ptr, ptr, ptr], returns: u32 },
} as const satisfies Record<string, FFIFunction>;

export const shimSymbols = {
  /** const char *vmlan_key(const char *symbol) — the string behind a vmnet_*_key symbol, or NULL */
  vmlan_key: { args: [cstring], returns: ptr },
  /**
   * vmnet_return_t vmlan_vmnet_start(uint32_t mode, const uint8_t *uuid16 (nullable), const char *start,
   *   const char *end, const char *mask (all three or NULL), const char *shared_if (bridged), uint32_t flags,
   *   char *json, size_t json_cap, struct vmlan_iface **out)
   */
  vmlan_vmnet_start: { args: [u32, ptr, ptr, ptr, ptr, ptr, u32, ptr, usize, ptr], returns: u32 },
  /** vmnet_return_t vmlan_vmnet_start_with_network(vmnet_network_ref, uint32_t flags, char *json, size_t cap, struct vmlan_iface **out) */
  vmlan_vmnet_start_with_network: { args: [ptr, u32, ptr, usize, ptr], returns: u32 },
  /** interface_ref vmlan_iface_ref(struct vmlan_iface *) */
  vmlan_iface_ref: { args: [ptr], returns: ptr },
  /** int32_t vmlan_vmnet_events(struct vmlan_iface *) — read end of the event pipe, or -status */
  vmlan_vmnet_events: { args: [ptr], returns: i32 },
  /** vmnet_return_t vmlan_vmnet_stop(struct vmlan_iface *) — waits for the completion; frees the handle */
  vmlan_vmnet_stop: { args: [ptr], returns: u32 },
  /**
   * vmnet_network_ref vmlan_network_create(uint32_t mode, const char *gateway4, const char *mask4,
   *   const char *prefix6, uint32_t prefix_len, uint32_t mtu, uint32_t flags, vmnet_return_t *status)
   */
  vmlan_network_create: { args: [u32, ptr, ptr, ptr, u32, u32, u32, ptr], returns: ptr },
  /** int32_t vmlan_network_info(vmnet_network_ref, char *json, size_t cap) — length or -1 */
  vmlan_network_info: { args: [ptr, ptr, usize], returns: i32 },
  /** int64_t vmlan_network_serialize(vmnet_network_ref, uint8_t *buf, size_t cap, uint32_t *status) */
  vmlan_network_serialize: { args: [ptr, ptr, usize, ptr], returns: i64_fast },
  /** vmnet_network_ref vmlan_network_deserialize(const uint8_t *buf, size_t len, vmnet_return_t *status) */
  vmlan_network_deserialize: { args: [ptr, usize, ptr], returns: ptr },
  /** int64_t vmlan_shared_interfaces(char *buf, size_t cap) — newline-terminated names; length, or -1 */
  vmlan_shared_interfaces: { args: [ptr, usize], returns: i64_fast },
  /** int32_t vmlan_network_api(void) — 1 when built with the macOS 26 SDK and running on macOS 26+ */
  vmlan_network_api: { args: [], returns: i32 },
  /**
   * vmnet_network_ref vmlan_network_create_forwarding(... as vmlan_network_create ..., const struct vmlan_forward *rules,
   *   uint32_t count, vmnet_return_t *status) — macOS 26: forwarding rules in the configuration (shims/vmnet-forward.h)
   */
  vmlan_network_create_forwarding: { args: [u32, ptr, ptr, ptr, u32, u32, u32, ptr, u32, ptr], returns: ptr },
  /**
   * vmnet_return_t vmlan_interface_add_forward(struct vmlan_iface *, uint8_t protocol, uint16_t external_port,
   *   uint8_t family (4|6), const uint8_t *address, uint16_t internal_port) — waits for the completion (vmnet-forwarding.c)
   */
  vmlan_interface_add_forward: { args: [ptr, u8, u16, u8, ptr, u16], returns: u32 },
  /** vmnet_return_t vmlan_interface_remove_forward(struct vmlan_iface *, uint8_t protocol, uint16_t external_port, uint8_t family) */
  vmlan_interface_remove_forward: { args: [ptr, u8, u16, u8], returns: u32 },
  /** void vmlan_network_release(vmnet_network_ref) — CFRelease */
  vmlan_network_release: { args: [ptr], returns: FFIType.void },
} as const satisfies Record<string, FFIFunction>;
