/**
 * vmnet struct layouts (LP64, identical on macOS arm64/x86_64 and on Linux x86_64/arm64).
 * Checked against shims/vmnet.h (the header the double implements) by test/ffi/vmnet-layout.test.ts.
 */
import { array, struct } from "../layout.ts";

/** <vmnet/vmnet.h> struct vmpktdesc: 24 bytes. */
export const vmpktdesc = struct("vmpktdesc", [
  /** size_t: in = buffer capacity (read) or packet length (write); out = packet length */
  ["vm_pkt_size", "usize"],
  /** struct iovec * */
  ["vm_pkt_iov", "ptr"],
  ["vm_pkt_iovcnt", "u32"],
  /** reset to 0 before every call */
  ["vm_flags", "u32"],
]);

/** <sys/uio.h> struct iovec: 16 bytes (same on Darwin and Linux). */
export const iovec = struct("iovec", [
  ["iov_base", "ptr"],
  ["iov_len", "usize"],
]);

/** shims/vmnet-forward.h struct vmlan_forward: 24 bytes, one forwarding rule for a macOS 26 network's configuration. */
export const vmlan_forward = struct("vmlan_forward", [
  /** IPPROTO_TCP (6) or IPPROTO_UDP (17) */
  ["protocol", "u8"],
  /** 4 or 6 (the shim maps it to this OS's AF_INET / AF_INET6) */
  ["family", "u8"],
  /** host byte order */
  ["internal_port", "u16"],
  ["external_port", "u16"],
  ["pad", array("u8", 2)],
  /** in_addr in the first 4 bytes (family 4), else in6_addr */
  ["address", array("u8", 16)],
]);
