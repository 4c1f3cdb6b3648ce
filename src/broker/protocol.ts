/**
 * The broker's wire protocol, shared by server and client (docs/protocol.md documents it).
 * Framing: a 4-byte big-endian length, then that many bytes of UTF-8 JSON. A reply to `acquire`
 * with `tap: true` carries the TAP's file descriptor as SCM_RIGHTS on the same message.
 */
import * as v from "valibot";
import { InterfaceId, NetworkName } from "../core/resources/names.ts";
import { MAC_RE } from "../core/resources/attachment.ts";

export const PROTOCOL_VERSION = 1;
/** Requests and replies are small; anything bigger is garbage or an attack. */
export const MAX_FRAME = 64 * 1024;

const base = { v: v.literal(PROTOCOL_VERSION), id: v.pipe(v.number(), v.integer(), v.minValue(0)) };

export const Request = v.variant("op", [
  v.strictObject({ ...base, op: v.literal("acquire"), network: NetworkName, tap: v.optional(v.boolean()) }),
  v.strictObject({ ...base, op: v.literal("release"), network: NetworkName }),
  v.strictObject({ ...base, op: v.literal("list") }),
  v.strictObject({ ...base, op: v.literal("status") }),
  v.strictObject({ ...base, op: v.literal("stop"), force: v.optional(v.boolean()) }),
  // IPAM through the broker, for clients without write access to the store (docs/protocol.md).
  v.strictObject({ ...base, op: v.literal("attach"), network: NetworkName, interfaceId: InterfaceId, mac: v.optional(v.pipe(v.string(), v.toLowerCase(), v.regex(MAC_RE, "expected a MAC like 52:54:00:12:34:56"))), keep: v.optional(v.boolean()),
    allowSpoofing: v.optional(v.boolean()) }), // the lease's ports get no anti-spoofing rules (stored with it)
  v.strictObject({ ...base, op: v.literal("detach"), network: NetworkName, interfaceId: InterfaceId }),
]);
export type Request = v.InferOutput<typeof Request>;
export type Op = Request["op"];

export const ErrorBody = v.object({ code: v.string(), message: v.string() });

export const Reply = v.union([
  v.object({ v: v.literal(PROTOCOL_VERSION), id: v.number(), ok: v.literal(true), result: v.unknown() }),
  v.object({ v: v.literal(PROTOCOL_VERSION), id: v.number(), ok: v.literal(false), error: ErrorBody }),
]);
export type Reply = v.InferOutput<typeof Reply>;

/** What a client needs to join a network. */
export const AcquireResult = v.object({
  network: v.object({
    name: v.string(), mode: v.string(), subnet: v.string(), gateway: v.string(),
    subnetV6: v.nullable(v.string()), gatewayV6: v.nullable(v.string()), mtu: v.number(), bridge: v.string(),
  }),
  tap: v.nullable(v.object({ ifname: v.string() })),
});
export type AcquireResult = v.InferOutput<typeof AcquireResult>;

/** A lease as the broker hands it out (`attach`). */
export const BrokerLease = v.object({
  // address, prefixLength, gateway: null on a bridged network (the LAN's DHCP server assigns the address).
  id: v.string(), network: v.string(), mac: v.string(), address: v.nullable(v.string()), prefixLength: v.nullable(v.number()), gateway: v.nullable(v.string()),
  addressV6: v.nullable(v.string()), hostname: v.string(), mtu: v.number(),
});
export type BrokerLease = v.InferOutput<typeof BrokerLease>;

export function encodeFrame(msg: unknown): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(msg));
  if (body.length > MAX_FRAME) throw new Error(`message of ${body.length} bytes is over the ${MAX_FRAME}-byte limit`);
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length, false);
  out.set(body, 4);
  return out;
}

/** Splits complete frames off the front of `buf`. Throws on an oversized length. */
export function takeFrames(buf: Uint8Array): { frames: Uint8Array[]; rest: Uint8Array } {
  const frames: Uint8Array[] = [];
  let off = 0;
  while (buf.length - off >= 4) {
    const len = new DataView(buf.buffer, buf.byteOffset + off, 4).getUint32(0, false);
    if (len > MAX_FRAME) throw new Error(`frame of ${len} bytes is over the ${MAX_FRAME}-byte limit`);
    if (buf.length - off - 4 < len) break;
    frames.push(buf.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  return { frames, rest: buf.subarray(off) };
}

/** Parses and validates a request frame; the error message names what is wrong. */
export function parseRequest(frame: Uint8Array): Request {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(frame));
  } catch {
    throw new Error("request is not UTF-8 JSON");
  }
  const r = v.safeParse(Request, json);
  if (!r.success) {
    const i = r.issues[0];
    const path = i.path?.map((p) => String(p.key)).join(".") ?? "";
    throw new Error(`invalid request${path ? ` at "${path}"` : ""}: ${i.message}`);
  }
  return r.output;
}
