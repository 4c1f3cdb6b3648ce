/**
 * A fake guest on a stream socket with QEMU's framing (4-byte big-endian length, then the frame), as
 * `-netdev stream` and `-netdev socket,fd=3` speak to `vmlan switch` / socket_vmnet: it connects to
 * the switch's socket (--socket PATH) or uses an inherited connected socket (--fd N, as under
 * socket_vmnet_client), answers ARP and ICMP echo for one address and optionally pings another
 * (test/support/responder.ts). Touches no interface, so it needs no namespace of its own.
 *   bun test/support/stream-guest.ts (--socket PATH | --fd N) --ip A --mac M [--ping T [--via GW]] [--timeout MS]
 * stdout: "ready", then "ping ok <ip>" or "ping fail <ip>"; at the end (SIGTERM, or the switch hung up)
 * "frames <n> foreign <m>": frames received, and how many of them were unicast to another MAC (a
 * switch that floods would deliver those; one with a learning bridge behind it does not).
 */
import { parseArgs } from "node:util";
import { libc } from "../../ffi/libc/load.ts";
import { AF_UNIX, SOCK_STREAM } from "../../ffi/libc/constants.ts";
import { libcDatapath } from "../../ffi/libc/datapath.ts";
import { frameStream, walkFrames } from "../../src/datapath/stream-framing.ts";
import { respond } from "./responder.ts";

const { values: o } = parseArgs({
  options: {
    fd: { type: "string" }, socket: { type: "string" }, ip: { type: "string" }, mac: { type: "string" },
    ping: { type: "string" }, via: { type: "string" }, timeout: { type: "string", default: "5000" },
  },
});
if (!o.ip || !o.mac || (!o.fd && !o.socket)) throw new Error("usage: (--fd N | --socket PATH) --ip A --mac M [--ping T [--via GW]]");
const c = libc();

/** Connects a stream socket to `path` (sockaddr_un: family, then the NUL-terminated path). */
function connectStream(path: string): number {
  const fd = c.socket(AF_UNIX, SOCK_STREAM, 0);
  const sa = new Uint8Array(110);
  sa[0] = AF_UNIX;
  sa.set(new TextEncoder().encode(path), 2);
  if (libcDatapath().connect(fd, sa, sa.length) < 0) throw new Error(`connect ${path} failed`);
  return fd;
}

const fd = o.fd ? Number(o.fd) : connectStream(o.socket!);
let stopping = false;
let received = 0;
let foreign = 0;
const me = o.mac.toLowerCase().split(":").map((h) => Number.parseInt(h, 16));
process.on("SIGTERM", () => { stopping = true; });
process.on("SIGINT", () => { stopping = true; });

// Receive side: bytes accumulate until whole frames are there; each frame is copied out (small, rare).
const buf = new Uint8Array(new ArrayBuffer(1 << 20));
let have = 0;
const io = {
  send(frame: Uint8Array) {
    const s = frameStream([frame]);
    c.write(fd, s, s.length);
  },
  receive(): Uint8Array[] {
    const n = Number(c.read(fd, buf.subarray(have), buf.length - have));
    if (n <= 0) {
      if (n === 0) stopping = true; // the switch closed us
      return [];
    }
    have += n;
    const frames: Uint8Array[] = [];
    const w = walkFrames(buf, 0, have, (off, len) => frames.push(buf.slice(off, off + len)));
    if (w.broken >= 0) throw new Error(`the switch sent a broken length ${w.broken}`);
    buf.copyWithin(0, w.next, have);
    have -= w.next;
    received += frames.length;
    for (const f of frames) if (!(f[0]! & 1) && me.some((b, i) => f[i] !== b)) foreign++;
    return frames;
  },
};

console.log("ready");
await respond({ fd, io, ip: o.ip, mac: o.mac, ping: o.ping, via: o.via, timeoutMs: Number(o.timeout), tag: "vmlan-stream-guest" }, () => stopping);
console.log(`frames ${received} foreign ${foreign}`);
c.close(fd);
process.exit(0);
