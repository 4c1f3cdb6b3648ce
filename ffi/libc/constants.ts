/** libc / kernel numbers for Linux (x86-64 and arm64 agree on all of these). Header in each comment. */

// <bits/socket.h>, <linux/socket.h>
export const AF_UNSPEC = 0;
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const AF_PACKET = 17;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
/** <asm-generic/socket.h>: the same as SO_SNDBUF/SO_RCVBUF past net.core.wmem_max/rmem_max (CAP_NET_ADMIN). */
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const SOL_NETLINK = 270;
/** <linux/netlink.h>: report errors with a message (struct nlmsgerr + NLMSGERR_ATTR_MSG). */
export const NETLINK_EXT_ACK = 11;
/** linux/netlink.h: strict checking of dump requests, which makes the kernel honour their filters (ifa_index; Linux 4.20+). */
export const NETLINK_GET_STRICT_CHK = 12;
export const MSG_DONTWAIT = 0x40;
export const MSG_TRUNC = 0x20;

// <asm-generic/fcntl.h>
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const F_GETFD = 1;
export const F_SETFD = 2;
export const FD_CLOEXEC = 1;

// <poll.h>
export const POLLIN = 0x1;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;

// <linux/if.h> interface flags
export const IFF_UP = 0x1;
export const IFF_LOOPBACK = 0x8;
export const IFF_RUNNING = 0x40;
export const IFNAMSIZ = 16;

// <linux/if_tun.h>
/** _IOW('T', 202, int) */
export const TUNSETIFF = 0x400454ca;
export const IFF_TUN = 0x0001;
export const IFF_TAP = 0x0002;
export const IFF_NO_PI = 0x1000;
export const IFF_VNET_HDR = 0x4000;
/** _IOW('T', 208, unsigned int): which offloads the reader takes (TUN_F_*). */
export const TUNSETOFFLOAD = 0x400454d0;
/** _IOW('T', 216, int): the virtio-net header's size on the fd (default sizeof(struct virtio_net_hdr), 10). */
export const TUNSETVNETHDRSZ = 0x400454d8;
/** TUNSETOFFLOAD features: "you can hand me unchecksummed packets", TSO for IPv4/IPv6, with ECN, UFO. */
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;
export const TUN_F_TSO_ECN = 0x08;
export const TUN_F_UFO = 0x10;

// <linux/virtio_net.h> struct virtio_net_hdr flags and gso_type (layout in structs.ts)
/** Checksum from csum_start to the end, stored at csum_start + csum_offset; the field holds the pseudo-header sum. */
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
/** The checksum was verified. */
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
export const VIRTIO_NET_HDR_GSO_NONE = 0;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
/** IPv4 UDP fragmentation offload (UFO): the kernel cuts the datagram into IP fragments. */
export const VIRTIO_NET_HDR_GSO_UDP = 3;
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
/** Or-ed into gso_type: the TCP segment has CWR set (ECN). */
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

// <linux/sockios.h>
export const SIOCGIFINDEX = 0x8933;
export const SIOCGIFFLAGS = 0x8913;

/** <sched.h> CLONE_NEWNET: setns(2)'s nstype for a network namespace. */
export const CLONE_NEWNET = 0x40000000;
/** <linux/nsfs.h> NS_GET_NSTYPE = _IO(0xb7, 0x3) (Linux 4.11): ioctl(2) returns a namespace file's CLONE_NEW* type. */
export const NS_GET_NSTYPE = 0xb703;
/** <sys/file.h> flock(2) operations. */
export const LOCK_EX = 2;
export const LOCK_UN = 8;
