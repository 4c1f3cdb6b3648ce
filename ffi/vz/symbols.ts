/**
 * Virtualization.framework through shims/vz.m (a C-ABI dylib; Objective-C cannot be called from
 * bun:ffi directly). Data only; each symbol cites its C prototype in shims/vz.m. Error text comes back
 * in a caller buffer (char *err, size_t cap). Not built or run on Linux: see docs/macos.md.
 */
import { FFIType, type FFIFunction } from "bun:ffi";

const { i32, u32, u64, ptr, cstring } = FFIType;
const usize = FFIType.u64;

export const vzSymbols = {
  /** int vmlan_vz_supported(void) — VZVirtualMachine.isSupported */
  vmlan_vz_supported: { args: [], returns: i32 },
  /** int vmlan_vz_nested_supported(void) — VZGenericPlatformConfiguration.isNestedVirtualizationSupported (macOS 15+) */
  vmlan_vz_nested_supported: { args: [], returns: i32 },
  /**
   * void *vmlan_vz_config_new(const char *kernel, const char *initrd, const char *cmdline, uint32_t cpus,
   *   uint64_t memory, int console_in_fd, int console_out_fd, char *err, size_t cap)
   */
  vmlan_vz_config_new: { args: [cstring, cstring, cstring, u32, u64, i32, i32, ptr, usize], returns: ptr },
  /** int vmlan_vz_config_add_disk(void *cfg, const char *path, int read_only, char *err, size_t cap) */
  vmlan_vz_config_add_disk: { args: [ptr, cstring, i32, ptr, usize], returns: i32 },
  /** int vmlan_vz_config_add_nic_fd(void *cfg, int fd, const char *mac, uint32_t mtu, char *err, size_t cap) */
  vmlan_vz_config_add_nic_fd: { args: [ptr, i32, cstring, u32, ptr, usize], returns: i32 },
  /** int vmlan_vz_config_add_nic_network(void *cfg, vmnet_network_ref network, const char *mac, char *err, size_t cap) — macOS 26 */
  vmlan_vz_config_add_nic_network: { args: [ptr, ptr, cstring, ptr, usize], returns: i32 },
  /** int vmlan_vz_config_set_nested(void *cfg, int on, char *err, size_t cap) */
  vmlan_vz_config_set_nested: { args: [ptr, i32, ptr, usize], returns: i32 },
  /** void *vmlan_vz_start(void *cfg, char *err, size_t cap) — NULL on failure */
  vmlan_vz_start: { args: [ptr, ptr, usize], returns: ptr },
  /** int vmlan_vz_state(void *vm) — VZVirtualMachineState | 0x100 guest stopped | 0x200 stopped with error */
  vmlan_vz_state: { args: [ptr], returns: i32 },
  /** int vmlan_vz_stop(void *vm, int force, char *err, size_t cap) */
  vmlan_vz_stop: { args: [ptr, i32, ptr, usize], returns: i32 },
  /** void vmlan_vz_free(void *handle) */
  vmlan_vz_free: { args: [ptr], returns: FFIType.void },
} as const satisfies Record<string, FFIFunction>;
