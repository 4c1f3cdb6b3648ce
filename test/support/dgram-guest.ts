/**
 * A fake guest on the VM side of `vmlan helper`/`vmlan run`: one Ethernet frame per datagram on an
 * inherited fd (--fd N, the socketpair end `vmlan run` passes) or as a client of a helper's --socket
 * (binds its own path, sends vfkit's 4-byte "VFKT" greeting first). Answers ARP and ICMP echo for one
 * address and optionally pings another. Touches no interface, so it needs no namespace of its own.
 *   bun test/support/dgram-guest.ts (--fd N | --socket PATH) --ip A --mac M [--ping T [--via GW]]
 *       [--malformed]   first send 4 malformed datagrams: empty, 4 bytes, 13 bytes, 1600 bytes
 * stdout: "ready", then "ping ok <ip>" or "ping fail <ip>". Exits 0 on SIGTERM or when its fd dies.
 */
import { parseArgs } from "node:util";
import { rmSync } from "node:fs";
import { libc } from "../../ffi/libc/load.ts";
import { AF_UNIX, POLLIN, SOCK_DGRAM } from "../../ffi/libc/constants.ts";
import { libcDatapath } from "../../ffi/libc/datapath.ts";
import * as F from "./frames.ts";

const { values: o } = parseArgs({
  options: {
    fd: { type: "string" }, socket: { type: "string" }, ip: { type: "string" }, mac: { type: "string" },
    ping: { type: "string" }, via: { type: "string" }, timeout: { type: "string", default: "5000" },
    malformed: { type: "boolean" },
  },
});
if (!o.ip || !o.mac || (!o.fd && !o.socket)) throw new Error("usage: (--fd N | --socket PATH) --ip A --mac M [--ping T [--via GW]] [--malformed]");
const myIp = F.parseIpv4(o.ip);
const myMac = F.parseMac(o.mac);
const c = libc();

function sockaddr(path: string): Uint8Array {
  const sa = new Uint8Array(110);
  sa[0] = AF_UNIX;
  sa.set(new TextEncoder().encode(path), 2);
  return sa;
}

let fd: number;
let clientPath: string | undefined;
if (o.fd) fd = Number(o.fd);
else {
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

let stopping = false;
process.on("SIGTERM", () => { stopping = true; });
process.on("SIGINT", () => { stopping = true; });

// read/write rather than recv/send: with --native the fd is a TAP, not a socket.
const send = (frame: Uint8Array) => Number(c.write(fd, frame, frame.length));

if (o.malformed) {
  for (const n of [0, 4, 13, 1600]) {
    const junk = new Uint8Array(Math.max(n, 1)).fill(0xab);
    c.write(fd, junk, n);
  }
}

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
  if (now - lastSend < 200) return;
  lastSend = now;
  if (!hopMac) {
    send(F.ethernet(F.BROADCAST, myMac, F.ETH_P_ARP, F.arp({ op: F.ARP_REQUEST, sha: myMac, spa: myIp, tha: new Uint8Array(6), tpa: hop })));
  } else {
    const echo = F.icmpEcho({ type: F.ICMP_ECHO_REQUEST, id: PING_ID, seq: 1, data: new TextEncoder().encode("vmlan-dgram-guest") });
    send(F.ethernet(hopMac, myMac, F.ETH_P_IP, F.ipv4({ src: myIp, dst: target, proto: F.IPPROTO_ICMP, payload: echo })));
  }
}

const pfdAb = new ArrayBuffer(8);
const pfd = new DataView(pfdAb);
const pfdBytes = new Uint8Array(pfdAb);
const frameAb = new ArrayBuffer(65536);
const frame = new Uint8Array(frameAb);

console.log("ready");
while (!stopping) {
  pfd.setInt32(0, fd, true);
  pfd.setInt16(4, POLLIN, true);
  pfd.setInt16(6, 0, true);
  if (c.poll(pfdBytes, 1, 50) > 0 && pfd.getInt16(6, true) & POLLIN) {
    const n = Number(c.read(fd, frame, frame.length));
    if (n > 0) onFrame(frame.subarray(0, n));
  }
  pingStep(Date.now());
  await new Promise((r) => setImmediate(r));
}
c.close(fd);
if (clientPath) rmSync(clientPath, { force: true });
process.exit(0);
