/** libc struct layouts (LP64). Checked against gcc by test/ffi/layout.test.ts. */
import { array, struct, union } from "../layout.ts";

/** <linux/netlink.h> struct sockaddr_nl: 12 bytes. */
export const sockaddr_nl = struct("sockaddr_nl", [
  ["nl_family", "u16"],
  ["nl_pad", "u16"],
  ["nl_pid", "u32"],
  ["nl_groups", "u32"],
]);

/** <net/if.h> the part of ifreq's union vmlan uses; ifru_map (24 bytes, holds longs) sets size and alignment. */
const ifr_ifru = union("ifr_ifru", [
  ["ifru_flags", "i16"],
  ["ifru_ivalue", "i32"],
  ["ifru_mtu", "i32"],
  ["ifru_data", "ptr"],
  ["ifru_map", array("u8", 24)],
]);

/** <net/if.h> struct ifreq: 40 bytes. ifr_flags/ifr_ifindex/ifr_mtu are macros for the union members. */
export const ifreq = struct("ifreq", [
  ["ifr_name", array("u8", 16)],
  ["ifr_ifru", ifr_ifru],
]);

/** <bits/types/struct_iovec.h> struct iovec: 16 bytes. */
export const iovec = struct("iovec", [
  ["iov_base", "ptr"],
  ["iov_len", "usize"],
]);

/** <bits/socket.h> struct msghdr: 56 bytes. */
export const msghdr = struct("msghdr", [
  ["msg_name", "ptr"],
  ["msg_namelen", "u32"],
  ["msg_iov", "ptr"],
  ["msg_iovlen", "usize"],
  ["msg_control", "ptr"],
  ["msg_controllen", "usize"],
  ["msg_flags", "i32"],
]);

/** <sys/socket.h> struct mmsghdr: 64 bytes (msghdr + received length, padded). */
export const mmsghdr = struct("mmsghdr", [
  ["msg_hdr", msghdr],
  ["msg_len", "u32"],
]);

/** <poll.h> struct pollfd: 8 bytes. */
export const pollfd = struct("pollfd", [
  ["fd", "i32"],
  ["events", "i16"],
  ["revents", "i16"],
]);

/**
 * <linux/virtio_net.h> struct virtio_net_hdr: 10 bytes in front of every frame on a TAP opened with
 * IFF_VNET_HDR (the kernel's default TUNSETVNETHDRSZ). __virtio16 is little endian on a TAP unless
 * TUNSETVNETBE (x86-64 and arm64: host order).
 */
export const virtio_net_hdr = struct("virtio_net_hdr", [
  ["flags", "u8"],
  ["gso_type", "u8"],
  ["hdr_len", "u16"],
  ["gso_size", "u16"],
  ["csum_start", "u16"],
  ["csum_offset", "u16"],
]);
