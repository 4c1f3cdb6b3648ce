/** The batch strategy per OS (src/datapath/batch-io.ts), including macOS's fallback without recvmsg_x. */
import { expect, test } from "bun:test";
import type { Pointer } from "bun:ffi";
import { DARWIN, LINUX } from "../../../ffi/libc/os.ts";
import { batchIo, chooseBatchMode, perDatagram } from "../../../src/datapath/batch-io.ts";
import type { MsgX } from "../../../ffi/libc/msg-x.ts";

const fakeX = (log: unknown[]) => ({
  recvmsg_x: (...a: unknown[]) => { log.push(["recvmsg_x", ...a]); return 3; },
  sendmsg_x: (...a: unknown[]) => { log.push(["sendmsg_x", ...a]); return 2; },
}) as unknown as MsgX;

test("Linux batches with recvmmsg/sendmmsg over 64-byte mmsghdr", () => {
  expect(chooseBatchMode(LINUX, null)).toBe("mmsg");
  const io = batchIo(new DataView(new ArrayBuffer(64)), LINUX, null);
  expect([io.mode, io.stride]).toEqual(["mmsg", 64]);
});

test("macOS with recvmsg_x/sendmsg_x: msg_x over 56-byte msghdr_x, the count passed through", () => {
  const log: unknown[] = [];
  const x = fakeX(log);
  expect(chooseBatchMode(DARWIN, x)).toBe("msg_x");
  const io = batchIo(new DataView(new ArrayBuffer(56 * 4)), DARWIN, x);
  expect([io.mode, io.stride]).toEqual(["msg_x", 56]);
  expect(io.recv(7, 4096 as Pointer, 4, DARWIN.MSG_DONTWAIT)).toBe(3);
  expect(io.send(7, 4096 as Pointer, 2, DARWIN.MSG_DONTWAIT)).toBe(2);
  expect(log).toEqual([["recvmsg_x", 7, 4096, 4, 0x80], ["sendmsg_x", 7, 4096, 2, 0x80]]);
});

test("macOS without the private symbols: one datagram per call", () => {
  expect(chooseBatchMode(DARWIN, null)).toBe("per-datagram");
  expect(batchIo(new DataView(new ArrayBuffer(56)), DARWIN, null).mode).toBe("per-datagram");
});

test("the per-datagram loop: lengths recorded, a later failure ends the batch, a first failure is -1", () => {
  const lens: [number, number][] = [];
  expect(perDatagram(3, (i) => 100 + i, (i, b) => lens.push([i, b]))).toBe(3);
  expect(lens).toEqual([[0, 100], [1, 101], [2, 102]]);
  const calls: number[] = [];
  expect(perDatagram(5, (i) => { calls.push(i); return i < 2 ? 60 : -1; })).toBe(2);
  expect(calls).toEqual([0, 1, 2]); // stops at the first EAGAIN, errno left as that call set it
  expect(perDatagram(4, () => -1)).toBe(-1);
  expect(perDatagram(0, () => { throw new Error("not called"); })).toBe(0);
});
