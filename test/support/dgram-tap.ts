/**
 * A fake VM whose NIC is a real interface, for helpers that serve a datagram socket (vmnet-helper's
 * and VZ's one-frame-per-datagram format): a TAP `eth0` in the guest namespace it runs in, relayed to
 * the socket on fd 3. Real tools (busybox udhcpc, nslookup, ping) then run in that namespace through
 * the helper, without booting a guest.
 *   ip netns exec GUEST bun test/support/dgram-tap.ts --mac M     (fd 3: the VM end of the helper's socket)
 * stdout: "ready" once the TAP is up. Exits 0 on SIGTERM or when the helper hangs up.
 */
import { parseArgs } from "node:util";
import { ptr } from "bun:ffi";
import { libc } from "../../ffi/libc/load.ts";
import { MSG_DONTWAIT, POLLIN } from "../../ffi/libc/constants.ts";
import { openTap } from "../../src/platform/linux/tap.ts";
import { FrameFdPort } from "../../src/datapath/frame-fd.ts";
import { assertInTestNetns } from "./netns.ts";

assertInTestNetns();
const { values: o } = parseArgs({ options: { mac: { type: "string" } } });
if (!o.mac) throw new Error("usage: --mac M (fd 3: the datagram socket)");
const c = libc();
const tap = openTap({ name: "eth0" });
FrameFdPort.setNonBlocking(tap.fd);
// The MAC is set with the link down, and what the link sent before is thrown away, so the host side
// sees M from the first frame (a helper's anti-spoofing and IPAM know the VM by it).
for (const args of [["down"], ["address", o.mac], ["up"]]) {
  const r = Bun.spawnSync(["ip", "link", "set", "eth0", ...args]);
  if (r.exitCode !== 0) throw new Error(`ip link set eth0 ${args.join(" ")}: ${r.stderr}`);
  if (args[0] === "address") while (Number(c.read(tap.fd, new Uint8Array(65536), 65536)) > 0);
}

const SOCK = 3;
let stopping = false;
process.on("SIGTERM", () => { stopping = true; });
process.on("SIGINT", () => { stopping = true; });
console.log("ready");

const pfdAb = new ArrayBuffer(16);
const pfd = new DataView(pfdAb);
const pfdPtr = ptr(pfdAb);
const frame = new Uint8Array(65536);
while (!stopping) {
  for (const [i, fd] of [tap.fd, SOCK].entries()) {
    pfd.setInt32(i * 8, fd, true);
    pfd.setInt16(i * 8 + 4, POLLIN, true);
    pfd.setInt16(i * 8 + 6, 0, true);
  }
  if (c.poll(pfdPtr, 2, 50) > 0) {
    if (pfd.getInt16(6, true) & POLLIN) {
      const n = Number(c.read(tap.fd, frame, frame.length));
      if (n > 0) c.send(SOCK, frame, n, 0);
    }
    const ev = pfd.getInt16(14, true);
    if (ev & POLLIN) {
      const n = Number(c.recv(SOCK, frame, frame.length, MSG_DONTWAIT));
      if (n > 0) c.write(tap.fd, frame, n);
    } else if (ev) break; // the helper hung up

  }
  await new Promise((r) => setImmediate(r));
}
