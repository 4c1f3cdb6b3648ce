/**
 * A hostile guest for the anti-spoofing tests: on the VM side of a vmlan port (--fd N from `vmlan run`,
 * as a client of `helper --socket PATH`, --stream PATH: a client of socket_vmnet or `vmlan switch`
 * (4-byte big-endian lengths), or --packet IF: raw frames on a container's interface, run inside the
 * container's namespace), it sends one frame per case below, each marked so that a
 * sniffer on the bridge (fake-guest.ts --sniff) can tell which got through, then a last good frame
 * ("end"). Cases: good (its own MAC and lease address), mac (another MAC), ip (another address),
 * arp-spa (ARP claiming another address), arp-sha (ARP naming another MAC), vlan (802.1Q tag),
 * dhcp-server (UDP from port 67), dhcp (DISCOVER from 0.0.0.0 for itself), dhcp-chaddr (DISCOVER for
 * another MAC), ra (IPv6 router advertisement), ip6-src (IPv6 from a foreign link-local), ip6 (IPv6
 * from its EUI-64 link-local), group-src (a multicast source MAC).
 *   bun test/support/spoof-guest.ts (--fd N | --socket PATH | --stream PATH | --packet IF) --mac M --ip A --other-mac M2 --other-ip A2 [--only CASES] [--again MS]
 * stdout: "sent <n>", then it stays until SIGTERM.
 */
import { parseArgs } from "node:util";
import { rmSync } from "node:fs";
import { libc } from "../../ffi/libc/load.ts";
import { AF_PACKET, AF_UNIX, SOCK_DGRAM, SOCK_RAW, SOCK_STREAM } from "../../ffi/libc/constants.ts";
import { libcDatapath } from "../../ffi/libc/datapath.ts";
import * as B from "./frames.ts";
import * as X from "./frames-ext.ts";

const F = { ...B, ...X };

const { values: o } = parseArgs({
  options: {
    fd: { type: "string" }, socket: { type: "string" }, stream: { type: "string" }, packet: { type: "string" }, mac: { type: "string" }, ip: { type: "string" },
    "other-mac": { type: "string" }, "other-ip": { type: "string" }, only: { type: "string" }, again: { type: "string" },
  },
});
if (!o.mac || !o.ip || !o["other-mac"] || !o["other-ip"] || (!o.fd && !o.socket && !o.stream && !o.packet)) throw new Error("usage: (--fd N | --socket PATH | --stream PATH | --packet IF) --mac M --ip A --other-mac M2 --other-ip A2");
const c = libc();
const sockaddr = (path: string) => {
  const sa = new Uint8Array(110);
  sa[0] = AF_UNIX;
  sa.set(new TextEncoder().encode(path), 2);
  return sa;
};
let fd: number;
let clientPath: string | undefined;
if (o.fd) fd = Number(o.fd);
else if (o.packet) {
  // An AF_PACKET socket bound to the interface (protocol 0: it sends, receives nothing): frames leave as written.
  fd = c.socket(AF_PACKET, SOCK_RAW, 0);
  const ifindex = c.if_nametoindex(Buffer.from(`${o.packet}\0`));
  const sll = new Uint8Array(20); // sockaddr_ll: family, protocol (0), ifindex, ...
  new DataView(sll.buffer).setUint16(0, AF_PACKET, true);
  new DataView(sll.buffer).setInt32(4, ifindex, true);
  if (fd < 0 || ifindex === 0 || c.bind(fd, sll, sll.length) < 0) throw new Error(`cannot send on ${o.packet}`);
} else if (o.stream) {
  fd = c.socket(AF_UNIX, SOCK_STREAM, 0);
  const theirs = sockaddr(o.stream);
  if (libcDatapath().connect(fd, theirs, theirs.length) < 0) throw new Error(`connect ${o.stream} failed`);
} else {
  fd = c.socket(AF_UNIX, SOCK_DGRAM, 0);
  clientPath = `${o.socket}.guest-${process.pid}`;
  rmSync(clientPath, { force: true });
  const mine = sockaddr(clientPath);
  if (c.bind(fd, mine, mine.length) < 0) throw new Error(`bind ${clientPath} failed`);
  const theirs = sockaddr(o.socket!);
  if (libcDatapath().connect(fd, theirs, theirs.length) < 0) throw new Error(`connect ${o.socket} failed`);
  const hello = new TextEncoder().encode("VFKT");
  c.send(fd, hello, hello.length, 0);
}

const me = F.parseMac(o.mac), other = F.parseMac(o["other-mac"]);
const myIp = F.parseIpv4(o.ip), otherIp = F.parseIpv4(o["other-ip"]);
const any = F.parseIpv4("0.0.0.0"), all = F.parseIpv4("255.255.255.255");
const marker = (name: string) => new TextEncoder().encode(`vmlan-spoof:${name}`);
const udp4 = (src: Uint8Array, from: Uint8Array, sport: number, dport: number, payload: Uint8Array, dst = all) =>
  F.ethernet(F.BROADCAST, src, F.ETH_P_IP, F.ipv4({ src: from, dst, proto: F.IPPROTO_UDP, payload: F.udp(sport, dport, payload) }));
const arpFrame = (src: Uint8Array, sha: Uint8Array, spa: Uint8Array) =>
  F.ethernet(F.BROADCAST, src, F.ETH_P_ARP, F.arp({ op: F.ARP_REQUEST, sha, spa, tha: new Uint8Array(6), tpa: F.parseIpv4("10.255.255.254") }));
const udp6 = (src: Uint8Array, from: Uint8Array, payload: Uint8Array) =>
  F.ethernet(F.IPV6_ALL_NODES_MAC, src, F.ETH_P_IPV6, F.ipv6({ src: from, dst: F.IPV6_ALL_NODES, next: F.IPPROTO_UDP, payload: F.udp(9, 9, payload) }));

const cases: Record<string, Uint8Array> = {
  good: udp4(me, myIp, 9, 9, marker("good")),
  mac: udp4(other, myIp, 9, 9, marker("mac")),
  ip: udp4(me, otherIp, 9, 9, marker("ip")),
  "arp-spa": arpFrame(me, me, otherIp),
  "arp-sha": arpFrame(me, other, myIp),
  vlan: F.vlanTag(udp4(me, myIp, 9, 9, marker("vlan")), 5),
  "dhcp-server": udp4(me, myIp, 67, 68, marker("dhcp-server")),
  dhcp: udp4(me, any, 68, 67, F.dhcpDiscover(me, marker("dhcp"))),
  "dhcp-chaddr": udp4(me, any, 68, 67, F.dhcpDiscover(other, marker("dhcp-chaddr"))),
  ra: F.ethernet(F.IPV6_ALL_NODES_MAC, me, F.ETH_P_IPV6, F.ipv6({ src: F.linkLocal(me), dst: F.IPV6_ALL_NODES, next: F.IPPROTO_ICMPV6, payload: F.icmpv6(134, marker("ra")) })),
  "ip6-src": udp6(me, F.parseIpv6("fe80::1234"), marker("ip6-src")),
  ip6: udp6(me, F.linkLocal(me), marker("ip6")),
  "group-src": udp4(F.parseMac("01:00:5e:00:00:01"), myIp, 9, 9, marker("group-src")),
};
const lengthPrefixed = (f: Uint8Array) => {
  const b = new Uint8Array(4 + f.length);
  new DataView(b.buffer).setUint32(0, f.length); // big-endian
  b.set(f, 4);
  return b;
};
const names = o.only ? o.only.split(",") : Object.keys(cases);
let sent = 0;
// One round; with --again MS a second one MS later (after the port may have learned and followed).
for (const round of o.again ? [0, Number(o.again)] : [0]) {
  await Bun.sleep(round);
  for (const name of [...names, "end"]) {
    const frame = name === "end" ? udp4(me, myIp, 9, 9, marker("end")) : cases[name];
    if (!frame) throw new Error(`unknown case ${name}`);
    // On a stream, each frame after its length (socket_vmnet's framing); it is written whole or not at all.
    const out = o.stream ? lengthPrefixed(frame) : frame;
    if (Number(c.write(fd, out, out.length)) === out.length) sent++;
    await Bun.sleep(5);
  }
}
console.log(`sent ${sent}`);

let stopping = false;
process.on("SIGTERM", () => { stopping = true; });
// Keep reading (a TAP fd or the socket) so nothing queues toward us; poll first, the fd may block.
const buf = new Uint8Array(65536);
const pfd = new Uint8Array(8);
while (!stopping) {
  new DataView(pfd.buffer).setInt32(0, fd, true);
  new DataView(pfd.buffer).setInt16(4, 1 /* POLLIN */, true);
  if (c.poll(pfd, 1, 50) > 0) c.read(fd, buf, buf.length);
  await Bun.sleep(0);
}
c.close(fd);
if (clientPath) rmSync(clientPath, { force: true });
process.exit(0);
