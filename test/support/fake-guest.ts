/**
 * A fake guest on a TAP: answers ARP and ICMP echo for one IPv4 address and MAC, and optionally
 * pings another address once. Run inside a test namespace as its own process:
 *   ip netns exec NS bun test/support/fake-guest.ts --bridge vl-a --ip 10.1.0.50 --mac 02:00:00:00:00:50
 *       [--fd N] [--ping 10.2.0.50 --via 10.1.0.1]
 * stdout: "ready <ifname>", then "ping ok <ip>" or "ping fail <ip>". Exits 0 on SIGTERM.
 */
import { parseArgs } from "node:util";
import { libc } from "../../ffi/libc/load.ts";
import { POLLIN } from "../../ffi/libc/constants.ts";
import { openTap } from "../../src/platform/linux/tap.ts";
import * as F from "./frames.ts";
import { assertInTestNetns } from "./netns.ts";

assertInTestNetns();
const { values: o } = parseArgs({
  options: {
    bridge: { type: "string" }, fd: { type: "string" }, ip: { type: "string" }, mac: { type: "string" },
    ping: { type: "string" }, via: { type: "string" }, timeout: { type: "string", default: "3000" },
  },
});
if (!o.ip || !o.mac || (!o.bridge && !o.fd)) throw new Error("usage: --ip A --mac M (--bridge B | --fd N) [--ping T [--via GW]]");
const myIp = F.parseIpv4(o.ip);
const myMac = F.parseMac(o.mac);
const c = libc();
const tap = o.fd ? { fd: Number(o.fd), ifname: `fd${o.fd}`, close: () => c.close(Number(o.fd)) } : openTap({ bridge: o.bridge });

let stopping = false;
process.on("SIGTERM", () => { stopping = true; });
process.on("SIGINT", () => { stopping = true; });

const send = (frame: Uint8Array) => c.write(tap.fd, frame, frame.length);

// Ping state: resolve the next hop's MAC by ARP, then send one echo request and wait for the reply.
const target = o.ping ? F.parseIpv4(o.ping) : null;
const hop = o.via ? F.parseIpv4(o.via) : target;
let hopMac: Uint8Array | null = null;
let pingDone = !target;
let lastSend = 0;
const deadline = Date.now() + Number(o.timeout);
const PING_ID = process.pid & 0xffff;

function onFrame(frame: Uint8Array): void {
  const eth = F.parseEthernet(frame);
  if (!eth) return;
  if (eth.type === F.ETH_P_ARP) {
    const a = F.parseArp(eth.payload);
    if (!a) return;
    if (a.op === F.ARP_REQUEST && F.eq(a.tpa, myIp)) {
      send(F.ethernet(a.sha, myMac, F.ETH_P_ARP, F.arp({ op: F.ARP_REPLY, sha: myMac, spa: myIp, tha: a.sha, tpa: a.spa })));
    } else if (a.op === F.ARP_REPLY && hop && F.eq(a.spa, hop)) hopMac = a.sha.slice();
    return;
  }
  if (eth.type !== F.ETH_P_IP) return;
  const ip = F.parseIpv4Packet(eth.payload);
  if (!ip || ip.proto !== F.IPPROTO_ICMP || !F.eq(ip.dst, myIp)) return;
  const icmp = F.parseIcmp(ip.payload);
  if (!icmp) return;
  if (icmp.type === F.ICMP_ECHO_REQUEST) {
    const reply = F.icmpEcho({ type: F.ICMP_ECHO_REPLY, id: icmp.id, seq: icmp.seq, data: icmp.data });
    send(F.ethernet(eth.src, myMac, F.ETH_P_IP, F.ipv4({ src: myIp, dst: ip.src, proto: F.IPPROTO_ICMP, payload: reply })));
  } else if (icmp.type === F.ICMP_ECHO_REPLY && target && icmp.id === PING_ID && F.eq(ip.src, target) && !pingDone) {
    pingDone = true;
    console.log(`ping ok ${o.ping}`);
  }
}

function pingStep(now: number): void {
  if (pingDone || !target || !hop) return;
  if (now > deadline) {
    pingDone = true;
    console.log(`ping fail ${o.ping}`);
    return;
  }
  if (now - lastSend < 200) return; // resend every 200 ms until answered
  lastSend = now;
  if (!hopMac) {
    send(F.ethernet(F.BROADCAST, myMac, F.ETH_P_ARP, F.arp({ op: F.ARP_REQUEST, sha: myMac, spa: myIp, tha: new Uint8Array(6), tpa: hop })));
  } else {
    const echo = F.icmpEcho({ type: F.ICMP_ECHO_REQUEST, id: PING_ID, seq: 1, data: new TextEncoder().encode("vmlan-fake-guest") });
    send(F.ethernet(hopMac, myMac, F.ETH_P_IP, F.ipv4({ src: myIp, dst: target, proto: F.IPPROTO_ICMP, payload: echo })));
  }
}

// One buffer for poll and one for frames, each on its own ArrayBuffer (native-facts D.1d).
const pfdAb = new ArrayBuffer(8);
const pfd = new DataView(pfdAb);
const pfdBytes = new Uint8Array(pfdAb);
const frameAb = new ArrayBuffer(65536);
const frame = new Uint8Array(frameAb);

console.log(`ready ${tap.ifname}`);
while (!stopping) {
  pfd.setInt32(0, tap.fd, true);
  pfd.setInt16(4, POLLIN, true);
  pfd.setInt16(6, 0, true);
  // 50 ms: short enough that the loop yields to the event loop (and sees SIGTERM) promptly.
  if (c.poll(pfdBytes, 1, 50) > 0 && pfd.getInt16(6, true) & POLLIN) {
    const n = Number(c.read(tap.fd, frame, frame.length));
    if (n > 0) onFrame(frame.subarray(0, n));
  }
  pingStep(Date.now());
  await new Promise((r) => setImmediate(r));
}
tap.close();
process.exit(0);
