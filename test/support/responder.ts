/**
 * The behaviour both fake guests share (fake-guest.ts on a TAP, dgram-guest.ts on a datagram fd):
 * answer ARP and ICMP echo for one address, optionally ping one target (ARP for the next hop, one
 * echo request resent every 200 ms until answered or the deadline), and print "ping ok|fail <ip>".
 * The loop polls the fd every 50 ms so SIGTERM is seen promptly. Frames are read/written with
 * read(2)/write(2), which work on TAPs and on connected datagram sockets alike.
 */
import { libc } from "../../ffi/libc/load.ts";
import { POLLIN } from "../../ffi/libc/constants.ts";
import * as F from "./frames.ts";

/** How frames cross the fd: by default one per read(2)/write(2); a stream client frames them (stream-guest.ts). */
export interface FrameIo {
  send(frame: Uint8Array): void;
  /** Called when the fd is readable: every complete frame now available (may be none). */
  receive(): Uint8Array[];
}

export interface ResponderOptions {
  fd: number;
  io?: FrameIo;
  ip: string;
  mac: string;
  ping?: string;
  via?: string;
  timeoutMs: number;
  /** Payload of the echo request, to tell the guests apart in captures. */
  tag: string;
}

export async function respond(o: ResponderOptions, stopping: () => boolean): Promise<void> {
  const c = libc();
  const myIp = F.parseIpv4(o.ip);
  const myMac = F.parseMac(o.mac);
  const frame = new Uint8Array(new ArrayBuffer(65536));
  const io: FrameIo = o.io ?? {
    send: (f) => void c.write(o.fd, f, f.length),
    receive: () => {
      const n = Number(c.read(o.fd, frame, frame.length));
      return n > 0 ? [frame.subarray(0, n)] : [];
    },
  };
  const send = (f: Uint8Array) => io.send(f);
  const target = o.ping ? F.parseIpv4(o.ping) : null;
  const hop = o.via ? F.parseIpv4(o.via) : target;
  let hopMac: Uint8Array | null = null;
  let pingDone = !target;
  let lastSend = 0;
  const deadline = Date.now() + o.timeoutMs;
  const PING_ID = process.pid & 0xffff;

  const onFrame = (frame: Uint8Array): void => {
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
  };

  const pingStep = (now: number): void => {
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
      const echo = F.icmpEcho({ type: F.ICMP_ECHO_REQUEST, id: PING_ID, seq: 1, data: new TextEncoder().encode(o.tag) });
      send(F.ethernet(hopMac, myMac, F.ETH_P_IP, F.ipv4({ src: myIp, dst: target, proto: F.IPPROTO_ICMP, payload: echo })));
    }
  };

  // One buffer for poll and one for frames, each on its own ArrayBuffer (native-facts D.1d).
  const pfdAb = new ArrayBuffer(8);
  const pfd = new DataView(pfdAb);
  const pfdBytes = new Uint8Array(pfdAb);
  while (!stopping()) {
    pfd.setInt32(0, o.fd, true);
    pfd.setInt16(4, POLLIN, true);
    pfd.setInt16(6, 0, true);
    if (c.poll(pfdBytes, 1, 50) > 0 && pfd.getInt16(6, true) & POLLIN) {
      for (const f of io.receive()) onFrame(f);
    }
    pingStep(Date.now());
    await new Promise((r) => setImmediate(r));
  }
}
