/**
 * The XPC half of libvmlan-vmnet (shims/vmnet-xpc-server.c, shims/vmnet-xpc-client.c): the broker's
 * Mach service and its clients, with vmnet-broker's protocol. Same library (and path variable) as the
 * trampolines; opened on first use.
 */
import { FFIType, type FFIFunction } from "bun:ffi";
import { lazyLibrary } from "../load.ts";
import { EMBEDDED_SHIM } from "./load.ts";
import { existsSync } from "node:fs";

const { i32, i64, u64, ptr, cstring } = FFIType;
const usize = FFIType.u64;

export const xpcSymbols = {
  /** int32_t vmlan_xpc_listen(const char *service) — 0, or -1 */
  vmlan_xpc_listen: { args: [cstring], returns: i32 },
  /** int32_t vmlan_xpc_events(void) — the event pipe's read end */
  vmlan_xpc_events: { args: [], returns: i32 },
  /** int32_t vmlan_xpc_next(char *buf, size_t cap) — one event's JSON length, 0, or -needed */
  vmlan_xpc_next: { args: [ptr, usize], returns: i32 },
  /** int32_t vmlan_xpc_reply_network(uint64_t msg, vmnet_network_ref, uint32_t *vmnet_status) */
  vmlan_xpc_reply_network: { args: [u64, ptr, ptr], returns: i32 },
  /** int32_t vmlan_xpc_reply_error(uint64_t msg, int64_t code, const char *message) */
  vmlan_xpc_reply_error: { args: [u64, i64, cstring], returns: i32 },
  /** void vmlan_xpc_close(uint64_t conn) */
  vmlan_xpc_close: { args: [u64], returns: FFIType.void },
  /** struct vmlan_xpc_client *vmlan_xpc_connect(const char *service) */
  vmlan_xpc_connect: { args: [cstring], returns: ptr },
  /** vmnet_network_ref vmlan_xpc_acquire(client, const char *network, int32_t *broker, uint32_t *vmnet, char *msg, size_t cap) */
  vmlan_xpc_acquire: { args: [ptr, cstring, ptr, ptr, ptr, usize], returns: ptr },
  /** void vmlan_xpc_disconnect(struct vmlan_xpc_client *) */
  vmlan_xpc_disconnect: { args: [ptr], returns: FFIType.void },
} as const satisfies Record<string, FFIFunction>;

export const vmnetXpc = lazyLibrary({
  name: "vmnet-shim (XPC)",
  envVar: "VMLAN_VMNET_SHIM_PATH",
  defaultPath: existsSync(EMBEDDED_SHIM) ? EMBEDDED_SHIM : `${process.execPath.replace(/[^/]*$/, "")}libvmlan-vmnet.dylib`,
  symbols: xpcSymbols,
});
