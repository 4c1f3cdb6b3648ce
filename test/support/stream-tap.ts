/**
 * A fake VM for stream switches whose NIC is a real interface: a TAP `eth0` in the guest namespace it
 * runs in, relayed to the switch's socket with QEMU's stream framing, as QEMU's `-netdev stream`
 * relays its virtio NIC. Real tools (busybox udhcpc, ping) then run in that namespace through the
 * switch, without booting a guest.
 *   ip netns exec GUEST bun test/support/stream-tap.ts --socket PATH --mac M
 * stdout: "ready" once the TAP is up and the socket connected. Exits 0 on SIGTERM or when the switch hangs up.
 */
import { parseArgs } from "node:util";
import { ptr } from "bun:ffi";
import { libc } from "../../ffi/libc/load.ts";
import { AF_UNIX, POLLIN, SOCK_STREAM } from "../../ffi/libc/constants.ts";
import { libcDatapath } from "../../ffi/libc/datapath.ts";
import { openTap } from "../../src/platform/linux/tap.ts";
import { FrameFdPort } from "../../src/datapath/frame-fd.ts";
import { frameStream, walkFrames } from "../../src/datapath/stream-framing.ts";
import { assertInTestNetns } from "./netns.ts";

assertInTestNetns();
const { values: o } = parseArgs({ options: { socket: { type: "string" }, mac: { type: "string" } } });
if (!o.socket || !o.mac) throw new Error("usage: --socket PATH --mac M");
const c = libc();
const tap = openTap({ name: "eth0" });
FrameFdPort.setNonBlocking(tap.fd);
// The MAC is set with the link down, and what the link sent before (IPv6 with the kernel's random
// MAC) is thrown away, so the switch learns M from the first frame it sees.
for (const args of [["down"], ["address", o.mac], ["up"]]) {
  const r = Bun.spawnSync(["ip", "link", "set", "eth0", ...args]);
  if (r.exitCode !== 0) throw new Error(`ip link set eth0 ${args.join(" ")}: ${r.stderr}`);
  if (args[0] === "address") while (Number(c.read(tap.fd, new Uint8Array(65536), 65536)) > 0);
}

const sock = c.socket(AF_UNIX, SOCK_STREAM, 0);
const sa = new Uint8Array(110);
sa[0] = AF_UNIX;
sa.set(new TextEncoder().encode(o.socket), 2);
if (libcDatapath().connect(sock, sa, sa.length) < 0) throw new Error(`connect ${o.socket} failed`);

let stopping = false;
process.on("SIGTERM", () => { stopping = true; });
process.on("SIGINT", () => { stopping = true; });
console.log("ready");

const pfdAb = new ArrayBuffer(16);
const pfd = new DataView(pfdAb);
const pfdPtr = ptr(pfdAb);
const frame = new Uint8Array(65536);
const rx = new Uint8Array(1 << 20);
let have = 0;
const writeAll = (fd: number, b: Uint8Array) => {
  for (let off = 0; off < b.length; ) {
    const n = Number(c.write(fd, b.subarray(off), b.length - off));
    if (n <= 0) return false;
    off += n;
  }
  return true;
};
while (!stopping) {
  for (const [i, fd] of [tap.fd, sock].entries()) {
    pfd.setInt32(i * 8, fd, true);
    pfd.setInt16(i * 8 + 4, POLLIN, true);
    pfd.setInt16(i * 8 + 6, 0, true);
  }
  if (c.poll(pfdPtr, 2, 50) > 0) {
    if (pfd.getInt16(6, true) & POLLIN) {
      const n = Number(c.read(tap.fd, frame, frame.length));
      if (n > 0 && !writeAll(sock, frameStream([frame.subarray(0, n)]))) break;
    }
    if (pfd.getInt16(14, true)) {
      const n = Number(c.read(sock, rx.subarray(have), rx.length - have));
      if (n <= 0) break; // the switch hung up
      have += n;
      const w = walkFrames(rx, 0, have, (off, len) => void c.write(tap.fd, rx.subarray(off, off + len), len));
      rx.copyWithin(0, w.next, have);
      have -= w.next;
    }
  }
  await new Promise((r) => setImmediate(r));
}
c.close(sock);
tap.close();
process.exit(0);
