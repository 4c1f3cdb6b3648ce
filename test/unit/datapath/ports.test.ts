/** The ports on real socketpairs (cheap and real, STYLE "what not to copy"): batching, validation, retries, peer gone. */
import { expect, test } from "bun:test";
import { libc } from "../../../ffi/libc/load.ts";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM, SOL_SOCKET, SO_SNDBUF } from "../../../ffi/libc/constants.ts";
import { CLOSED, FrameBatch } from "../../../src/datapath/port.ts";
import { DgramPort, receivedLength, RETRY_MAX } from "../../../src/datapath/unix-dgram.ts";
import { ValidatingPort } from "../../../src/datapath/forward.ts";
import { Counters, createStatsBuffer, snapshot } from "../../../src/datapath/stats.ts";

function pair(): [number, number] {
  const sv = new Int32Array(2);
  expect(libc().socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv)).toBe(0);
  return [sv[0]!, sv[1]!];
}
const frame = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const sendRaw = (fd: number, b: Uint8Array) => Number(libc().send(fd, b, b.length, 0));

test("recvmmsg takes a whole batch; malformed frames are dropped, counted and the batch compacted", () => {
  const [a, b] = pair();
  const batch = new FrameBatch(8, 1536);
  const stats = createStatsBuffer();
  const port = new ValidatingPort(new DgramPort(b, batch), 1514, new Counters(stats, "vm_to_host"));
  const sizes = [60, 0, 4, 1514, 13, 1600, 100];
  sizes.forEach((n, i) => sendRaw(a, frame(n, i + 1)));
  Bun.gc(true);
  const n = port.recv(batch, 100);
  expect(n).toBe(3);
  expect([...batch.lens.subarray(0, 3)]).toEqual([60, 1514, 100]);
  expect(batch.slots[1]![0]).toBe(4); // the 1514-byte frame (4th sent) moved into slot 1
  expect(batch.slots[2]![99]).toBe(7);
  expect(snapshot(stats).vm_to_host.malformed).toBe(4);
  expect(port.recv(batch, 10)).toBe(0); // nothing queued: times out
  libc().close(a);
  libc().close(b);
});

test("sendmmsg toward a VM that does not read: bounded retries, then the rest of the batch is dropped", () => {
  const [a, b] = pair();
  // Peers connected to each other (a socketpair, or the helper after connect()) are not limited by
  // net.unix.max_dgram_qlen but by the sender's SO_SNDBUF: queued datagrams stay charged to it.
  libc().setsockopt(a, SOL_SOCKET, SO_SNDBUF, new Int32Array([16384]), 4);
  const batch = new FrameBatch(64, 1536);
  const port = new DgramPort(a, batch);
  for (let i = 0; i < 64; i++) batch.lens[i] = 1000;
  const sent = port.send(batch, 64);
  expect(sent).toBeGreaterThan(0);
  expect(sent).toBeLessThan(64);
  expect(port.retries).toBe(RETRY_MAX);
  const rx = new FrameBatch(64, 1536);
  expect(new DgramPort(b, rx).recv(rx, 10)).toBe(sent);
  libc().close(b);
  expect(port.send(batch, 1)).toBe(CLOSED); // the VM end is gone: ECONNREFUSED
  libc().close(a);
});

test("receivedLength: a datagram that filled its slot counts as cut, with or without MSG_TRUNC (recvmsg_x sets none per message)", () => {
  const MSG_TRUNC = process.platform === "darwin" ? 0x10 : 0x20;
  expect(receivedLength(1514, 0, 1536)).toBe(1514);
  expect(receivedLength(1536, 0, 1536)).toBe(1536); // recvmsg_x: msg_datalen = bytes copied, flags 0
  expect(receivedLength(1000, MSG_TRUNC, 1536)).toBe(1536); // recvmmsg's per-message MSG_TRUNC
});
