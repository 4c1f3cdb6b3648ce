/**
 * Numbers and layouts for the DHCP server's UDP socket (src/services/dhcp/socket.ts): a socket
 * bound to one interface (SO_BINDTODEVICE) on 0.0.0.0:67 that may send broadcasts. The calls
 * themselves (socket, setsockopt, bind, recv, sendto, poll, close) are in ffi/libc/symbols.ts.
 */
import { struct, array } from "../layout.ts";

// <asm-generic/socket.h>
export const SO_REUSEADDR = 2;
export const SO_BROADCAST = 6;
export const SO_BINDTODEVICE = 25;
/** SO_RCVBUF past net.core.rmem_max (needs CAP_NET_ADMIN). */
export const SO_RCVBUFFORCE = 33;
// <netinet/in.h>
export const IPPROTO_UDP = 17;
export const INADDR_ANY = 0;
export const INADDR_BROADCAST = 0xffffffff;

/** <netinet/in.h> struct sockaddr_in: 16 bytes; port and address in network byte order. */
export const sockaddr_in = struct("sockaddr_in", [
  ["sin_family", "u16"],
  ["sin_port", "u16"],
  ["sin_addr", "u32"],
  ["sin_zero", array("u8", 8)],
]);
