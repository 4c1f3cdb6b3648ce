/**
 * Fuzzes the guest services from a guest namespace: random and mutated DHCP (UDP 67), DNS (UDP
 * and TCP 53) and ICMPv6 router solicitations (raw socket to ff02::2) at the network's gateway.
 * Seeded (xorshift32), so a failure replays with the same SEED; bounded by COUNT packets per
 * protocol and SECONDS in all. Prints one JSON line: { seed, dhcp, dns, tcp, ra }.
 *
 *   bun fuzz-packets.ts GATEWAY_V4 IFNAME SEED COUNT SECONDS
 */
import dnsPacket from "dns-packet";
import { assertInTestNetns } from "../../support/netns.ts";
import { buildRequest } from "../../unit/services/dhcp-packets.ts";
import { libc } from "../../../ffi/libc/load.ts";
import { AF_INET6, SOCK_RAW } from "../../../ffi/libc/constants.ts";
import { IPPROTO_ICMPV6, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, sockaddr_in6 } from "../../../ffi/libc/icmp6.ts";
import { alloc, offsetOf } from "../../../ffi/layout.ts";

assertInTestNetns();
const [gateway = "", ifname = "eth0", seedArg = "1", countArg = "2000", secondsArg = "10"] = process.argv.slice(2);
const seed = Number(seedArg) >>> 0 || 1;
let state = seed;
const next = () => ((state ^= state << 13), (state ^= state >>> 17), (state ^= state << 5), state >>> 0);
const int = (n: number) => next() % n;
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const bytes = (n: number) => Uint8Array.from({ length: n }, () => next() & 0xff);
const count = Number(countArg);
const deadline = Date.now() + Number(secondsArg) * 1000;

/** The usual ways a packet goes wrong: flipped bits, random bytes, cut short, grown, spliced. */
function mutate(b: Uint8Array): Uint8Array {
  let out = b.slice();
  for (let k = int(4) + 1; k > 0; k--) {
    switch (int(6)) {
      case 0: if (out.length) out[int(out.length)]! ^= 1 << int(8); break;
      case 1: if (out.length) out[int(out.length)] = next() & 0xff; break;
      case 2: out = out.subarray(0, int(out.length + 1)).slice(); break;
      case 3: { const g = new Uint8Array(out.length + int(64)); g.set(out); g.set(bytes(g.length - out.length), out.length); out = g; break; }
      case 4: if (out.length > 4) { const at = int(out.length - 2); out[at] = 0xff; out[at + 1] = 0xff; } break; // a length or count field at its maximum
      default: if (out.length > 8) { const from = int(out.length - 4); out.set(out.slice(from, from + 4), int(out.length - 4)); } // a 4-byte run copied elsewhere
    }
  }
  return out;
}

// ---- DHCP ----
const ip = (s: string) => Uint8Array.from(s.split(".").map(Number));
function dhcpPacket(): Uint8Array {
  if (int(10) === 0) return bytes(int(600));
  const mac = `02:${Array.from(bytes(5), (x) => x.toString(16).padStart(2, "0")).join(":")}`;
  const options: Array<[number, Uint8Array]> = [];
  for (let k = int(6); k > 0; k--) {
    const code = pick([12, 50, 54, 55, 57, 61, 82, 52, 15, int(256)]);
    options.push([code, code === 50 || code === 54 ? pick([ip(gateway), bytes(4), bytes(int(9))]) : bytes(int(40))]);
  }
  const giaddr = pick(["0.0.0.0", "0.0.0.0", gateway, "10.99.0.1", `${gateway.replace(/\.\d+$/, "")}.${int(256)}`]);
  const b = buildRequest({ type: int(10), mac, xid: next(), flags: next() & 0xffff, ciaddr: pick(["0.0.0.0", `${gateway.replace(/\.\d+$/, "")}.${int(256)}`]), giaddr, options });
  return int(2) ? mutate(b) : b;
}

// ---- DNS ----
const TYPES = ["A", "AAAA", "PTR", "SOA", "TXT", "ANY", "MX", "NS", "SRV", "CNAME"] as unknown as dnsPacket.RecordType[];
function dnsName(): string {
  const label = () => pick(["web", "gateway", "localhost", "wpad", "x".repeat(int(64) + 1), String.fromCharCode(...bytes(int(12) + 1)), "fuzz", "*"]);
  const tail = pick(["", ".fuzz.vmlan", ".vmlan", ".example", ".in-addr.arpa", ".ip6.arpa", ".silent.example", ".ttl60.example"]);
  return Array.from({ length: int(4) + 1 }, label).join(".") + tail;
}
function dnsQuery(): Uint8Array {
  if (int(10) === 0) return bytes(int(300));
  const opt = int(2) ? [{ type: "OPT", name: ".", udpPayloadSize: int(65536), extendedRcode: int(3) ? 0 : int(256), ednsVersion: int(4) ? 0 : int(256), flags: next() & 0xffff, options: int(3) ? [] : [{ code: int(65536), data: Buffer.from(bytes(int(20))) }] } as unknown as dnsPacket.Answer] : [];
  let q: Uint8Array;
  try {
    q = new Uint8Array(dnsPacket.encode({
      type: "query", id: next() & 0xffff, flags: next() & 0x0110,
      questions: Array.from({ length: int(8) ? 1 : int(4) }, () => ({ type: pick(TYPES), name: dnsName(), class: "IN" as const })), additionals: opt,
    }));
  } catch {
    q = bytes(int(100));
  }
  return int(2) ? mutate(q) : q;
}

// ---- router solicitations (raw ICMPv6; the kernel fills in the checksum) ----
function raSender(): (b: Uint8Array) => void {
  const c = libc();
  const fd = c.socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
  if (fd < 0) throw new Error("raw ICMPv6 socket failed");
  c.setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, new Int32Array([255]), 4);
  const { bytes: to, view } = alloc(sockaddr_in6);
  view.setUint16(offsetOf(sockaddr_in6, "sin6_family"), AF_INET6, true);
  to.set([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], offsetOf(sockaddr_in6, "sin6_addr"));
  view.setUint32(offsetOf(sockaddr_in6, "sin6_scope_id"), c.if_nametoindex(Buffer.from(`${ifname}\0`)), true);
  return (b) => void c.sendto(fd, b, b.length, 0, to, to.length);
}
function solicitation(): Uint8Array {
  const rs = new Uint8Array(8 + int(4) * 8);
  rs[0] = int(4) ? 133 : int(256);
  rs.set(bytes(rs.length - 4), 4);
  if (rs.length > 8) { rs[8] = pick([1, 0, 255, int(256)]); rs[9] = pick([0, 1, 255, int(256)]); } // option type and length, lies included
  return int(3) ? rs : mutate(rs);
}

const sent = { seed, dhcp: 0, dns: 0, tcp: 0, ra: 0 };
const udp = await Bun.udpSocket({ socket: { data() {}, error() {} } });
const sendRa = raSender();
for (let i = 0; i < count && Date.now() < deadline; i++) {
  const d = dhcpPacket();
  if (d.length) { udp.send(d, 67, gateway); sent.dhcp++; }
  const q = dnsQuery();
  if (q.length) { udp.send(q, 53, gateway); sent.dns++; }
  if (i % 4 === 0) { sendRa(solicitation()); sent.ra++; }
  if (i % 50 === 0) {
    // A TCP stream: queries with honest or lying length prefixes, written in random pieces.
    const stream: number[] = [];
    for (let k = int(4) + 1; k > 0; k--) {
      const m = dnsQuery();
      const len = int(4) ? m.length : int(65536);
      stream.push(len >> 8, len & 0xff, ...m);
    }
    await new Promise<void>((resolve) => {
      Bun.connect({
        hostname: gateway, port: 53,
        socket: {
          async open(s) {
            const all = Uint8Array.from(stream);
            for (let at = 0; at < all.length; ) { const n = int(64) + 1; s.write(all.subarray(at, at + n)); at += n; }
            setTimeout(() => { s.end(); resolve(); }, 20);
          },
          data() {}, close() { resolve(); }, error() { resolve(); }, connectError() { resolve(); },
        },
      }).catch(() => resolve());
    });
    sent.tcp++;
  }
  if (i % 100 === 99) await Bun.sleep(5); // ~20,000 packets/s in bursts; the socket buffers carry it
}
await Bun.sleep(200);
udp.close();
console.log(JSON.stringify(sent));
