/**
 * More frame builders for the hostile guests (next to frames.ts): UDP (RFC 768, checksum 0 = none
 * over IPv4), IPv6 (RFC 8200) with a next header and no extensions, ICMPv6 (RFC 4443; checksum left
 * 0: nothing on the path verifies it), an 802.1Q tag, a BOOTP/DHCP DISCOVER (RFC 2131, chaddr at
 * offset 28, the magic cookie and option 53), and EUI-64 link-local addresses (RFC 4291 2.5.1).
 */
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
export const ETH_P_IPV6 = 0x86dd;
export const IPV6_ALL_NODES = parseIpv6("ff02::1");
export const IPV6_ALL_NODES_MAC = new Uint8Array([0x33, 0x33, 0, 0, 0, 1]);

export function udp(sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(8 + payload.length);
  const v = new DataView(b.buffer);
  v.setUint16(0, sport);
  v.setUint16(2, dport);
  v.setUint16(4, b.length);
  b.set(payload, 8);
  return b;
}

export function parseIpv6(s: string): Uint8Array {
  const [head, tail] = s.includes("::") ? s.split("::") : [s, undefined];
  const groups = (x: string | undefined) => (x ? x.split(":").filter(Boolean).map((g) => Number.parseInt(g, 16)) : []);
  const h = groups(head), t = groups(tail);
  const all = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill(0), ...t];
  if (all.length !== 8) throw new Error(`bad IPv6 ${s}`);
  const b = new Uint8Array(16);
  all.forEach((g, i) => new DataView(b.buffer).setUint16(i * 2, g));
  return b;
}

/** fe80::/64 + the modified EUI-64 of `mac`: what SLAAC and vmlan's IPAM compute. */
export function linkLocal(mac: Uint8Array): Uint8Array {
  const b = new Uint8Array(16);
  b[0] = 0xfe;
  b[1] = 0x80;
  b.set([mac[0]! ^ 0x02, mac[1]!, mac[2]!, 0xff, 0xfe, mac[3]!, mac[4]!, mac[5]!], 8);
  return b;
}

export function ipv6(p: { src: Uint8Array; dst: Uint8Array; next: number; payload: Uint8Array }): Uint8Array {
  const b = new Uint8Array(40 + p.payload.length);
  const v = new DataView(b.buffer);
  b[0] = 0x60;
  v.setUint16(4, p.payload.length);
  b[6] = p.next;
  b[7] = 255;
  b.set(p.src, 8);
  b.set(p.dst, 24);
  b.set(p.payload, 40);
  return b;
}

export function icmpv6(type: number, body: Uint8Array): Uint8Array {
  const b = new Uint8Array(4 + body.length);
  b[0] = type;
  b.set(body, 4);
  return b;
}

/** The frame with an 802.1Q tag (TPID 0x8100, VLAN `vid`) after the source MAC. */
export function vlanTag(frame: Uint8Array, vid: number): Uint8Array {
  const t = new Uint8Array(frame.length + 4);
  t.set(frame.subarray(0, 12));
  new DataView(t.buffer).setUint16(12, 0x8100);
  new DataView(t.buffer).setUint16(14, vid & 0xfff);
  t.set(frame.subarray(12), 16);
  return t;
}

/** A DHCPDISCOVER for `chaddr`; `extra` rides in the `sname` field so a sniffer can name the frame. */
export function dhcpDiscover(chaddr: Uint8Array, extra: Uint8Array): Uint8Array {
  const b = new Uint8Array(240 + 4);
  b[0] = 1; // BOOTREQUEST
  b[1] = 1; // Ethernet
  b[2] = 6;
  new DataView(b.buffer).setUint32(4, 0x5eed);
  new DataView(b.buffer).setUint16(10, 0x8000); // broadcast flag
  b.set(chaddr, 28);
  b.set(extra.subarray(0, 63), 44);
  b.set([99, 130, 83, 99], 236); // magic cookie
  b.set([53, 1, 1, 255], 240); // DHCPDISCOVER, end
  return b;
}
