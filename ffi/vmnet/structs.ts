/**
 * vmnet struct layouts (LP64, identical on macOS arm64/x86_64 and on Linux x86_64/arm64).
 * Checked against shims/vmnet.h (the header the double implements) by test/ffi/vmnet-layout.test.ts.
 */
import { struct } from "../layout.ts";

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
