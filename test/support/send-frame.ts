/**
 * Sends raw Ethernet frames out of an interface with an AF_PACKET socket (bun:ffi), inside a test
 * namespace: what a hostile guest can put on the wire that its own kernel would never send.
 *   ip netns exec NS bun test/support/send-frame.ts IFNAME HEX_FRAME [COUNT]
 */
import { libc } from "../../ffi/libc/load.ts";
import { AF_PACKET, SOCK_RAW } from "../../ffi/libc/constants.ts";
import { check } from "../../ffi/errno.ts";
import { assertInTestNetns } from "./netns.ts";

assertInTestNetns();
const [ifname, hex, count] = process.argv.slice(2);
const c = libc();
const index = c.if_nametoindex(Buffer.from(`${ifname}\0`));
if (!index) throw new Error(`no interface ${ifname}`);
const fd = check("socket", c.socket(AF_PACKET, SOCK_RAW, 0), "AF_PACKET");
// struct sockaddr_ll (<linux/if_packet.h>, 20 bytes): family, protocol (BE), ifindex, hatype, pkttype, halen, addr[8].
const sll = new Uint8Array(20);
const v = new DataView(sll.buffer);
v.setUint16(0, AF_PACKET, true);
v.setInt32(4, index, true);
const frame = Buffer.from(hex!, "hex");
for (let i = 0; i < Number(count ?? 1); i++) check("sendto", c.sendto(fd, frame, frame.length, 0, sll, sll.length), ifname);
c.close(fd);
