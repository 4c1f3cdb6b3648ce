/**
 * The stream path of `vmlan switch` on real socketpairs: QEMU's framing (stream-framing.ts), the
 * VM → host loop (stream-ingress.ts; a datagram socketpair stands in for the TAP: one frame per
 * write), and the host → VM sender (stream-port.ts) with short writes finished after the peer drains.
 */
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { libc } from "../../../ffi/libc/load.ts";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET, SO_SNDBUF } from "../../../ffi/libc/constants.ts";
import { frameStream, readLength, STREAM_MAX_FRAME, walkFrames } from "../../../src/datapath/stream-framing.ts";
import { pumpStreamToTap } from "../../../src/datapath/stream-ingress.ts";
import { StreamPort } from "../../../src/datapath/stream-port.ts";
import { CLOSED, FrameBatch } from "../../../src/datapath/port.ts";
import { Counters, createStatsBuffer, snapshot } from "../../../src/datapath/stats.ts";
import { FrameFdPort } from "../../../src/datapath/frame-fd.ts";

function pair(type: number): [number, number] {
  const sv = new Int32Array(2);
  expect(libc().socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv)).toBe(0);
  return [sv[0]!, sv[1]!];
}
const write = (fd: number, b: Uint8Array) => Number(libc().write(fd, b, b.length));
/** A frame of `n` bytes: destination broadcast, source `src` (6 bytes), then `fill`. */
function frame(n: number, fill: number, src = [2, 0, 0, 0, 0, fill]): Uint8Array {
  const f = new Uint8Array(n).fill(fill);
  if (n >= 12) {
    f.fill(0xff, 0, 6);
    f.set(src, 6);
  }
  return f;
}
const header = (len: number) => frameStream([new Uint8Array(0)]).map((_, i) => (len >>> (24 - 8 * i)) & 0xff);

test("walkFrames cuts complete frames, stops at an incomplete one, and flags lengths 0 and over the maximum", () => {
  const s = frameStream([frame(60, 1), frame(14, 2), frame(100, 3)]);
  const seen: [number, number][] = [];
  expect(walkFrames(s, 0, s.length, (o, l) => seen.push([o, l]))).toEqual({ next: s.length, broken: -1 });
  expect(seen).toEqual([[4, 60], [68, 14], [86, 100]]);
  expect(walkFrames(s, 0, s.length - 1, () => {}).next).toBe(82); // the last frame is one byte short
  expect(walkFrames(s, 0, 3, () => {}).next).toBe(0); // not even a header
  for (const bad of [0, STREAM_MAX_FRAME + 1, 0xffffffff]) {
    const b = new Uint8Array([...frameStream([frame(60, 1)]), ...header(bad)]);
    expect(walkFrames(b, 0, b.length, () => {})).toEqual({ next: 64, broken: bad });
  }
  expect(readLength(header(0x01020304), 0)).toBe(0x01020304);
});

test("VM → host: frames split across reads arrive whole at the TAP, bad-sized ones are dropped and counted, the MAC is reported once", async () => {
  const [client, sw] = pair(SOCK_STREAM);
  const [tapIn, tapOut] = pair(SOCK_DGRAM);
  FrameFdPort.setNonBlocking(sw);
  const frames = [frame(60, 1), frame(13, 9), frame(1514, 2), frame(1600, 9), frame(100, 3, [4, 0, 0, 0, 0, 4])];
  const dir = mkdtempSync(join(tmpdir(), "vmlan-stream-"));
  await Bun.write(`${dir}/s`, frameStream(frames));
  // A writer that sends one byte of the first header, then 69 bytes, then the rest, pausing between.
  const writer = Bun.spawn(["sh", "-c", `head -c 1 ${dir}/s; sleep 0.1; tail -c +2 ${dir}/s | head -c 69; sleep 0.1; tail -c +71 ${dir}/s`], { stdio: ["ignore", client, "inherit"] });
  libc().close(client);
  const stats = createStatsBuffer();
  const macs: string[] = [];
  const end = pumpStreamToTap({ sock: sw, tap: tapIn, maxPacketSize: 1514, counters: new Counters(stats, "vm_to_host"), control: new Int32Array(1), onMac: (m) => macs.push(m) });
  expect(end).toEqual({ reason: "peer-closed" });
  expect(macs).toEqual(["02:00:00:00:00:01"]);
  const got: number[] = [];
  const buf = new Uint8Array(2048);
  FrameFdPort.setNonBlocking(tapOut);
  for (let n; (n = Number(libc().read(tapOut, buf, buf.length))) > 0; ) got.push(n, buf[n - 1]!);
  expect(got).toEqual([60, 1, 1514, 2, 100, 3]);
  expect(snapshot(stats).vm_to_host).toMatchObject({ packets: 3, bytes: 1674, malformed: 2, drops: 0 });
  expect(snapshot(stats).vm_to_host.batches).toBe(2); // reads that completed frames: after 70 bytes and at the end
  for (const fd of [sw, tapIn, tapOut]) libc().close(fd);
  await writer.exited;
  rmSync(dir, { recursive: true, force: true });
});

test("VM → host: a broken length, or a connection that ends inside a frame, ends the client with the reason", () => {
  const cases: [Uint8Array, string][] = [
    [header(0), "frame length 0"],
    [header(0xffffffff), `frame length 4294967295 over the stream maximum of ${STREAM_MAX_FRAME}`],
    [header(60).subarray(0, 2), "connection closed inside a frame header (2 of 4 bytes)"],
    [new Uint8Array([...header(60), ...new Uint8Array(10)]), "connection closed inside a frame (10 of 60 bytes)"],
  ];
  for (const [bytes, message] of cases) {
    const [client, sw] = pair(SOCK_STREAM);
    const [tapIn, tapOut] = pair(SOCK_DGRAM);
    write(client, new Uint8Array([...frameStream([frame(60, 1)]), ...bytes]));
    libc().close(client);
    const end = pumpStreamToTap({ sock: sw, tap: tapIn, maxPacketSize: 1514, counters: new Counters(createStatsBuffer(), "vm_to_host"), control: new Int32Array(1), onMac: () => {} });
    expect(end).toEqual({ reason: "malformed", message });
    expect(Number(libc().recv(tapOut, new Uint8Array(2048), 2048, 0x40 /* MSG_DONTWAIT */))).toBe(60); // the good frame before it went through
    for (const fd of [sw, tapIn, tapOut]) libc().close(fd);
  }
});

test("host → VM: a batch goes out framed; a short write is finished once the VM reads again; a gone VM is CLOSED", async () => {
  const [sw, vm] = pair(SOCK_STREAM);
  libc().setsockopt(sw, SOL_SOCKET, SO_SNDBUF, new Int32Array([4096]), 4); // far below one batch: many short writes
  FrameFdPort.setNonBlocking(sw);
  const batch = new FrameBatch(64, 1536);
  const frames = Array.from({ length: 64 }, (_, i) => frame(i % 2 ? 1514 : 64, i + 1));
  frames.forEach((f, i) => { batch.slots[i]!.set(f); batch.lens[i] = f.length; });
  const dir = mkdtempSync(join(tmpdir(), "vmlan-stream-"));
  // The "VM" starts reading only after a while, so the sender has to wait for it.
  const reader = Bun.spawn(["sh", "-c", `sleep 0.3; cat > ${dir}/got`], { stdio: [vm, "ignore", "inherit"] });
  libc().close(vm);
  const port = new StreamPort(sw, batch, new Int32Array(1));
  expect(port.send(batch, 64)).toBe(64);
  expect(port.retries).toBeGreaterThan(0);
  libc().close(sw);
  await reader.exited;
  expect(readFileSync(`${dir}/got`)).toEqual(Buffer.from(frameStream(frames)));
  rmSync(dir, { recursive: true, force: true });

  const [a, b] = pair(SOCK_STREAM);
  libc().close(b);
  expect(new StreamPort(a, batch, new Int32Array(1)).send(batch, 1)).toBe(CLOSED);
  libc().close(a);
});
