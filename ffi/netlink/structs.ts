/** rtnetlink header layouts. Checked against gcc by test/ffi/layout.test.ts. */
import { struct } from "../layout.ts";

/** <linux/netlink.h> struct nlmsghdr: 16 bytes. */
export const nlmsghdr = struct("nlmsghdr", [
  ["nlmsg_len", "u32"],
  ["nlmsg_type", "u16"],
  ["nlmsg_flags", "u16"],
  ["nlmsg_seq", "u32"],
  ["nlmsg_pid", "u32"],
]);

/** <linux/netlink.h> struct nlmsgerr: error (negative errno, 0 = ack) + the request's header. */
export const nlmsgerr = struct("nlmsgerr", [
  ["error", "i32"],
  ["msg", nlmsghdr],
]);

/** <linux/rtnetlink.h> struct ifinfomsg: 16 bytes. */
export const ifinfomsg = struct("ifinfomsg", [
  ["ifi_family", "u8"],
  ["__ifi_pad", "u8"],
  ["ifi_type", "u16"],
  ["ifi_index", "i32"],
  ["ifi_flags", "u32"],
  ["ifi_change", "u32"],
]);

/** <linux/if_addr.h> struct ifaddrmsg: 8 bytes. */
export const ifaddrmsg = struct("ifaddrmsg", [
  ["ifa_family", "u8"],
  ["ifa_prefixlen", "u8"],
  ["ifa_flags", "u8"],
  ["ifa_scope", "u8"],
  ["ifa_index", "u32"],
]);

/** <linux/rtnetlink.h> struct rtmsg: 12 bytes. */
export const rtmsg = struct("rtmsg", [
  ["rtm_family", "u8"],
  ["rtm_dst_len", "u8"],
  ["rtm_src_len", "u8"],
  ["rtm_tos", "u8"],
  ["rtm_table", "u8"],
  ["rtm_protocol", "u8"],
  ["rtm_scope", "u8"],
  ["rtm_type", "u8"],
  ["rtm_flags", "u32"],
]);

/** <linux/rtnetlink.h> struct rtattr: 4 bytes, payload follows aligned to 4. */
export const rtattr = struct("rtattr", [
  ["rta_len", "u16"],
  ["rta_type", "u16"],
]);
