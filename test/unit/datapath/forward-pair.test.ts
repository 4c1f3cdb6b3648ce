/**
 * A datagram socket and a frame fd (the helper's ports) are forwarded by one loop polling both
 * (forward.ts PairForwarder), in a Worker (workers.ts) or on this thread between turns of the event
 * loop (forward-inline.ts, the Linux helper's): frames go both ways, each direction is counted on its
 * own, a VM that goes away ends the forwarding (seen by the next send toward it), and a stop ends it
 * too. Real socketpairs stand in for the VM socket and the TAP (read/write keep datagram boundaries,
 * as a TAP's frames).
 */
import { expect, test } from "bun:test";
import { libc } from "../../../ffi/libc/load.ts";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM } from "../../../ffi/libc/constants.ts";
import { FrameFdPort } from "../../../src/datapath/frame-fd.ts";
import { snapshot } from "../../../src/datapath/stats.ts";
import { startForwarding, type Forwarding, type ForwardingOptions } from "../../../src/datapath/workers.ts";
import { forwardInline } from "../../../src/datapath/forward-inline.ts";
import { dropCleanCodePages } from "../../../src/datapath/code-pages.ts";

const WAYS: [string, (o: ForwardingOptions) => Promise<Forwarding>][] = [
  ["one Worker", async (o) => startForwarding(o)],
  ["this thread", forwardInline],
];

function pair(): [number, number] {
  const sv = new Int32Array(2);
  expect(libc().socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv)).toBe(0);
  return [sv[0]!, sv[1]!];
}
/** An Ethernet-sized frame whose bytes are all `fill`. */
const frame = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const send = (fd: number, b: Uint8Array) => expect(Number(libc().send(fd, b, b.length, 0))).toBe(b.length);

/** The datagrams waiting on fd, as their first byte and length (non-blocking; waits up to `ms` for `count`). */
async function drain(fd: number, count: number, ms = 3000): Promise<string[]> {
  const out: string[] = [];
  const buf = new Uint8Array(2048);
  const end = Date.now() + ms;
  while (out.length < count && Date.now() < end) {
    const n = Number(libc().recv(fd, buf, buf.length, 0x40)); // MSG_DONTWAIT
    if (n > 0) out.push(`${buf[0]}:${n}`);
    else await Bun.sleep(5);
  }
  return out;
}

for (const [way, start] of WAYS) {
  test(`${way} forwards both ways; each direction counted; the VM going away ends it`, async () => {
    const [vmFar, vmNear] = pair();
    const [tapFar, tapNear] = pair();
    FrameFdPort.setNonBlocking(tapNear);
    const fw = await start({ vm: { fd: vmNear, kind: "dgram" }, host: { fd: tapNear, kind: "frame-fd" }, maxPacketSize: 1514 });
    for (let i = 1; i <= 3; i++) send(vmFar, frame(100 * i, i)); // VM → host
    for (let i = 1; i <= 2; i++) send(tapFar, frame(60 + i, 10 + i)); // host → VM
    expect(await drain(tapFar, 3)).toEqual(["1:100", "2:200", "3:300"]);
    expect(await drain(vmFar, 2)).toEqual(["11:61", "12:62"]);
    send(vmFar, frame(10, 9)); // too short for Ethernet: dropped and counted as malformed
    send(vmFar, frame(64, 4));
    expect(await drain(tapFar, 1)).toEqual(["4:64"]);
    const s = snapshot(fw.stats);
    expect([s.vm_to_host.packets, s.vm_to_host.bytes, s.vm_to_host.malformed]).toEqual([4, 664, 1]);
    expect([s.host_to_vm.packets, s.host_to_vm.bytes]).toEqual([2, 123]);
    libc().close(vmFar); // a datagram socket's peer going is seen by the next send toward it (ECONNREFUSED)
    send(tapFar, frame(64, 5));
    expect((await fw.firstDone).reason).toBe("peer-closed");
    await fw.stop();
    for (const fd of [vmNear, tapFar, tapNear]) libc().close(fd);
  });

  test(`${way}: a stop ends a pair that is idle within a poll period`, async () => {
    const [vmFar, vmNear] = pair();
    const [tapFar, tapNear] = pair();
    FrameFdPort.setNonBlocking(tapNear);
    const fw = await start({ vm: { fd: vmNear, kind: "dgram" }, host: { fd: tapNear, kind: "frame-fd" }, maxPacketSize: 1514 });
    send(vmFar, frame(64, 1));
    expect(await drain(tapFar, 1)).toEqual(["1:64"]); // up and forwarding
    const t0 = performance.now();
    await fw.stop();
    expect(performance.now() - t0).toBeLessThan(900); // it left its loop on its own: within STOP_GRACE_MS (5 poll periods)
    for (const fd of [vmFar, vmNear, tapFar, tapNear]) libc().close(fd);
  });

  test(`${way}: frames still pass after the code pages are given back`, async () => {
    const [vmFar, vmNear] = pair();
    const [tapFar, tapNear] = pair();
    FrameFdPort.setNonBlocking(tapNear);
    const fw = await start({ vm: { fd: vmNear, kind: "dgram" }, host: { fd: tapNear, kind: "frame-fd" }, maxPacketSize: 1514 });
    send(vmFar, frame(64, 1));
    expect(await drain(tapFar, 1)).toEqual(["1:64"]);
    expect(dropCleanCodePages()).toBeGreaterThan(0); // this process's own code, the loop's included
    Bun.gc(true);
    send(vmFar, frame(65, 2));
    send(tapFar, frame(66, 3));
    expect(await drain(tapFar, 1)).toEqual(["2:65"]);
    expect(await drain(vmFar, 1)).toEqual(["3:66"]);
    await fw.stop();
    for (const fd of [vmFar, vmNear, tapFar, tapNear]) libc().close(fd);
  });
}
