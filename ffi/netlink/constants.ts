/** rtnetlink numbers. Headers: <linux/netlink.h>, <linux/rtnetlink.h>, <linux/if_link.h>, <linux/if_addr.h>. */

export const NETLINK_ROUTE = 0;

// <linux/netlink.h> message types and flags
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
/** Asks for a copy of the notification the request causes (RTM_NEWLINK honours it since Linux 6.1). */
export const NLM_F_ECHO = 0x08;
/** Set by the kernel on a dump message when the dump was interrupted by a change; retry it. */
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** On an NLMSG_ERROR: the ack carries TLVs after the (capped) original header. */
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;
export const NLMSGERR_ATTR_MSG = 1;

// <linux/rtnetlink.h> message types
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
/** With family AF_BRIDGE: set a bridge port's flags (rtnl_bridge_setlink → br_setlink). */
export const RTM_SETLINK = 19;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;

// <linux/if_link.h> IFLA_*
export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_MASTER = 10;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKINFO = 18;
export const IFLA_IFALIAS = 20;
/** u32 fd of a network namespace: create the link (or move it) there. */
export const IFLA_NET_NS_FD = 28;
/** Protocol-specific link info; for a bridge port (family AF_BRIDGE) the IFLA_BRPORT_* attributes. */
export const IFLA_PROTINFO = 12;
/** u8: an isolated port forwards only to non-isolated ports (and the bridge itself), never to another isolated one. */
export const IFLA_BRPORT_ISOLATED = 33;
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
/** <linux/veth.h> VETH_INFO_PEER: the peer's ifinfomsg + attributes, inside IFLA_INFO_DATA. */
export const VETH_INFO_PEER = 1;

// <linux/if_addr.h> IFA_*
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_BROADCAST = 4;
export const IFA_FLAGS = 8;
/** Skip duplicate address detection: the gateway address is ours by construction. */
export const IFA_F_NODAD = 0x02;
export const IFA_F_HOMEADDRESS = 0x10;
export const IFA_F_PERMANENT = 0x80;
export const IFA_F_MANAGETEMPADDR = 0x100;
export const IFA_F_NOPREFIXROUTE = 0x200;
export const IFA_F_MCAUTOJOIN = 0x400;

// <linux/rtnetlink.h> RTA_*, tables, scopes
export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_PREFSRC = 7;
export const RTA_MULTIPATH = 9;
export const RTA_TABLE = 15;
export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const RTN_UNICAST = 1;
/** <linux/rtnetlink.h> RTPROT_BOOT: the protocol `ip route add` uses for static routes. */
export const RTPROT_BOOT = 3;
export const RT_TABLE_UNSPEC = 0;
/** rtm_protocol: routes the kernel made itself (prefix routes of addresses) and from router advertisements. */
export const RTPROT_KERNEL = 2;
export const RTPROT_RA = 9;
/** rtm_flags a user may set (<linux/rtnetlink.h> RTNH_F_*): the gateway is on-link even if no prefix says so. */
export const RTNH_F_ONLINK = 4;

// <linux/if_arp.h> ifi_type
export const ARPHRD_ETHER = 1;
export const ARPHRD_LOOPBACK = 772;

/** struct rtattr nesting bit (<linux/netlink.h> NLA_F_NESTED); masked off when parsing. */
export const NLA_F_NESTED = 0x8000;
/** <sys/socket.h> address family of bridge port messages. */
export const AF_BRIDGE = 7;
export const NLA_TYPE_MASK = 0x3fff;
