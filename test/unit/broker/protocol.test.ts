import { expect, test } from "bun:test";
import { encodeFrame, takeFrames, parseRequest, MAX_FRAME } from "../../../src/broker/protocol.ts";

test("frames split at length prefixes, partial frames wait", () => {
  const a = encodeFrame({ v: 1, id: 1, op: "list" });
  const b = encodeFrame({ v: 1, id: 2, op: "status" });
  const both = new Uint8Array([...a, ...b.subarray(0, 5)]);
  const { frames, rest } = takeFrames(both);
  expect(frames.map((f) => parseRequest(f).id)).toEqual([1]);
  expect(rest.length).toBe(5);
});

test("oversized, non-JSON, unknown and malformed requests are refused with a reason", () => {
  const huge = new Uint8Array(8);
  new DataView(huge.buffer).setUint32(0, MAX_FRAME + 1);
  expect(() => takeFrames(huge)).toThrow("over the 65536-byte limit");
  expect(() => parseRequest(new TextEncoder().encode("{nope"))).toThrow("not UTF-8 JSON");
  expect(() => parseRequest(new TextEncoder().encode(JSON.stringify({ v: 1, id: 1, op: "format" })))).toThrow("invalid request");
  expect(() => parseRequest(new TextEncoder().encode(JSON.stringify({ v: 2, id: 1, op: "list" })))).toThrow("invalid request");
  expect(() => parseRequest(new TextEncoder().encode(JSON.stringify({ v: 1, id: 1, op: "acquire", network: "x", extra: 1 })))).toThrow("invalid request");
  expect(parseRequest(new TextEncoder().encode(JSON.stringify({ v: 1, id: 7, op: "acquire", network: "x", tap: true })))).toEqual({ v: 1, id: 7, op: "acquire", network: "x", tap: true });
});
