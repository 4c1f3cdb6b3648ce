/**
 * Runs the darwin vmnet code against the vmnet double inside a test namespace:
 *   ip netns exec NS bun test/integration/darwin/vmnet-run.ts <scenario> '<json>'
 * with VMLAN_VMNET_PATH / VMLAN_VMNET_SHIM_PATH (test/doubles/build.ts) and VMLAN_DOUBLE_BRIDGE set.
 * Prints one JSON object per line; the last line is {"done":true,"violations":N}.
 */
import { dlopen, FFIType, ptr, type Pointer } from "bun:ffi";
import { libc } from "../../../ffi/libc/load.ts";
import { POLLIN } from "../../../ffi/libc/constants.ts";
import { vmnet } from "../../../ffi/vmnet/load.ts";
import { FrameBatch } from "../../../src/datapath/port.ts";
import { VmnetNetwork } from "../../../src/platform/darwin/network.ts";
import { VmnetInterface } from "../../../src/platform/darwin/vmnet-interface.ts";
import { VmnetPort } from "../../../src/platform/darwin/vmnet-port.ts";
import * as F from "../../support/frames.ts";
import { assertInTestNetns } from "../../support/netns.ts";

assertInTestNetns();
const [scenario, json = "{}"] = process.argv.slice(2);
const arg = JSON.parse(json) as { guestIp: string; myIp: string; interfaceId?: string };
const out = (o: unknown) => console.log(JSON.stringify(o));
const probe = dlopen(process.env.VMLAN_VMNET_PATH!, {
  vmnet_double_violations: { args: [], returns: FFIType.u64 },
  vmnet_double_late_events: { args: [], returns: FFIType.u64 },
});
const violations = () => Number(probe.symbols.vmnet_double_violations());

/**
 * Waits on the event fd first, then reads: `woke` proves the reply was announced by the event pump
 * (the callback block writing to the pipe) before vmnet_read returned it. Gives up after 5 s.
 */
function await_(port: VmnetPort, batch: FrameBatch, iface: VmnetInterface, match: (f: Uint8Array) => boolean): { hit: boolean; woke: boolean } {
  const end = Date.now() + 5000;
  let woke = false;
  const pfd = new DataView(new ArrayBuffer(8));
  while (Date.now() < end) {
    pfd.setInt32(0, iface.eventFd(), true);
    pfd.setInt16(4, POLLIN, true);
    pfd.setInt16(6, 0, true);
    if (libc().poll(new Uint8Array(pfd.buffer), 1, 200) > 0) woke = true;
    for (let n = port.recv(batch, 0); n !== 0; n = port.recv(batch, 0)) {
      if (n < 0) throw port.lastError ?? new Error("vmnet port closed");
      for (let i = 0; i < n; i++) if (match(batch.slots[i]!.subarray(0, batch.lens[i]!))) return { hit: true, woke };
    }
  }
  return { hit: false, woke };
}

/** Reads and discards whatever is queued, so the next event is a fresh one. */
function flush(port: VmnetPort, batch: FrameBatch): void {
  while (port.recv(batch, 0) > 0) { /* discard */ }
}

function traffic(iface: VmnetInterface): void {
  const port = new VmnetPort(iface, 32);
  const batch = new FrameBatch(port.size, iface.maxPacketSize + 1);
  const me = F.parseMac(iface.macAddress);
  const myIp = F.parseIpv4(arg.myIp);
  const guestIp = F.parseIpv4(arg.guestIp);
  const send = (frame: Uint8Array) => {
    batch.slots[0]!.set(frame);
    batch.lens[0] = frame.length;
    return port.send(batch, 1);
  };
  flush(port, batch);
  out({ sentArp: send(F.ethernet(F.BROADCAST, me, F.ETH_P_ARP, F.arp({ op: F.ARP_REQUEST, sha: me, spa: myIp, tha: new Uint8Array(6), tpa: guestIp }))) });
  let guestMac: Uint8Array | null = null;
  const arp = await_(port, batch, iface, (f) => {
    const e = F.parseEthernet(f);
    const a = e?.type === F.ETH_P_ARP ? F.parseArp(e.payload) : null;
    if (a?.op === F.ARP_REPLY && F.eq(a.spa, guestIp) && F.eq(e!.dst, me)) guestMac = a.sha.slice();
    return guestMac !== null;
  });
  out({ arp: guestMac ? F.formatMac(guestMac) : null, arpWoke: arp.woke });
  if (!guestMac) return;
  flush(port, batch);
  const echo = F.icmpEcho({ type: F.ICMP_ECHO_REQUEST, id: 0x7777, seq: 1, data: new TextEncoder().encode("vmlan-vmnet-double") });
  out({ sentPing: send(F.ethernet(guestMac, me, F.ETH_P_IP, F.ipv4({ src: myIp, dst: guestIp, proto: F.IPPROTO_ICMP, payload: echo }))) });
  const pong = await_(port, batch, iface, (f) => {
    const e = F.parseEthernet(f);
    const ip = e?.type === F.ETH_P_IP ? F.parseIpv4Packet(e.payload) : null;
    const icmp = ip?.proto === F.IPPROTO_ICMP ? F.parseIcmp(ip.payload) : null;
    return icmp?.type === F.ICMP_ECHO_REPLY && icmp.id === 0x7777 && F.eq(ip!.src, guestIp);
  });
  out({ ping: pong.hit, pingWoke: pong.woke });
  // A burst in one vmnet_write call (20 descriptors), answered through batched vmnet_reads.
  const BURST = 20;
  for (let i = 0; i < BURST; i++) {
    const e = F.icmpEcho({ type: F.ICMP_ECHO_REQUEST, id: 0x7778, seq: i, data: new Uint8Array(100 + i) });
    const f = F.ethernet(guestMac, me, F.ETH_P_IP, F.ipv4({ src: myIp, dst: guestIp, proto: F.IPPROTO_ICMP, payload: e }));
    batch.slots[i]!.set(f);
    batch.lens[i] = f.length;
  }
  const seen = new Set<number>();
  const burstSent = port.send(batch, BURST);
  await_(port, batch, iface, (f) => {
    const ip = F.parseIpv4Packet(F.parseEthernet(f)?.payload ?? new Uint8Array());
    const icmp = ip?.proto === F.IPPROTO_ICMP ? F.parseIcmp(ip.payload) : null;
    if (icmp?.type === F.ICMP_ECHO_REPLY && icmp.id === 0x7778 && icmp.data.length === 100 + icmp.seq) seen.add(icmp.seq);
    return seen.size === BURST;
  });
  out({ burstSent, burstReplies: seen.size, drops: port.drops });
}

/** Two iovecs for one packet: vmnet refuses it (VMNET_INVALID_ARGUMENT); the double reports it. */
function badWrite(iface: VmnetInterface): number {
  const ab = new ArrayBuffer(24 + 32 + 8 + 64);
  const v = new DataView(ab);
  const base = ptr(ab);
  const frame = base + 64 + 8;
  v.setBigUint64(0, 60n, true); // vm_pkt_size
  v.setBigUint64(8, BigInt(base + 24), true); // vm_pkt_iov
  v.setUint32(16, 2, true); // vm_pkt_iovcnt: wrong
  v.setBigUint64(24, BigInt(frame), true);
  v.setBigUint64(32, 30n, true);
  v.setBigUint64(40, BigInt(frame + 30), true);
  v.setBigUint64(48, 30n, true);
  v.setInt32(56, 1, true); // pktcnt
  return vmnet().vmnet_write(iface.unsafeRef, base as Pointer, (base + 56) as Pointer);
}

switch (scenario) {
  case "traffic": {
    const iface = VmnetInterface.start({ mode: "shared", interfaceId: arg.interfaceId, isolation: false });
    out({ params: iface.params });
    const again = VmnetInterface.start({ mode: "shared", interfaceId: arg.interfaceId });
    out({ sameMac: again.macAddress === iface.macAddress });
    again.stop();
    traffic(iface);
    iface.stop();
    iface.stop(); // idempotent
    break;
  }
  case "bad-write": {
    const iface = VmnetInterface.start({ mode: "host" });
    out({ status: badWrite(iface) });
    iface.stop();
    break;
  }
  case "network": {
    const spec = { name: "n", bridge: "x", mode: "shared" as const, subnet: "10.78.0.0/24", gateway: "10.78.0.1", subnetV6: "fd00:78::/64", gatewayV6: "fd00:78::1", mtu: 1500 };
    const net = VmnetNetwork.create(spec);
    const copy = VmnetNetwork.fromSerialization(net.serialize());
    net.release(); // the copy keeps the reservation
    const iface = VmnetInterface.startOnNetwork(copy.unsafeRef);
    copy.release(); // the interface keeps the network alive
    out({ params: iface.params });
    traffic(iface);
    iface.stop();
    break;
  }
  case "late-event": {
    // With VMLAN_DOUBLE_LATE_EVENT=1 the double runs the old event block once more, 30 ms after the
    // callback was unset (after the stop). The fds the shim closed at stop are reused by a new pipe
    // here: a byte on it would be the late block writing into someone else's descriptor.
    const iface = VmnetInterface.start({ mode: "host" });
    const fd = iface.eventFd();
    iface.stop();
    // Two socketpairs take the lowest free numbers, among them the pipe's two.
    const fds = [new Int32Array(2), new Int32Array(2)].flatMap((p) => (libc().socketpair(1 /* AF_UNIX */, 1 /* SOCK_STREAM */, 0, p), [...p]));
    Bun.sleepSync(150);
    const buf = new Uint8Array(8);
    let stray = -1;
    for (const f of fds) {
      libc().fcntl(f, 4 /* F_SETFL */, 0o4000 /* O_NONBLOCK */);
      stray = Math.max(stray, Number(libc().read(f, buf, 8)));
    }
    out({ eventFd: fd, reused: fds.includes(fd) && fds.includes(fd + 1), late: Number(probe.symbols.vmnet_double_late_events()), stray });
    break;
  }
  default:
    throw new Error(`unknown scenario ${scenario}`);
}
out({ done: true, violations: violations() });
