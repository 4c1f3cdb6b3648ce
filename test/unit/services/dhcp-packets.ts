/** Client-side DHCP packets for tests: what a client (or an attacker) would put on the wire. */
import { HEADER_LEN, MAGIC_COOKIE } from "../../../src/services/dhcp/wire.ts";

export interface RequestSpec {
  type?: number;
  mac?: string;
  xid?: number;
  flags?: number;
  ciaddr?: string;
  giaddr?: string;
  options?: Array<[number, Uint8Array]>;
}

/** A BOOTREQUEST with the given message type (omitted: no option 53) and options, END-terminated. */
export function buildRequest(s: RequestSpec): Uint8Array {
  const opts: number[] = [];
  if (s.type !== undefined) opts.push(53, 1, s.type);
  for (const [code, v] of s.options ?? []) opts.push(code, v.length, ...v);
  opts.push(255);
  const b = new Uint8Array(HEADER_LEN + 4 + opts.length);
  const dv = new DataView(b.buffer);
  b[0] = 1;
  b[1] = 1;
  b[2] = 6;
  dv.setUint32(4, s.xid ?? 0x12345678);
  dv.setUint16(10, s.flags ?? 0);
  b.set((s.ciaddr ?? "0.0.0.0").split(".").map(Number), 12);
  b.set((s.giaddr ?? "0.0.0.0").split(".").map(Number), 24);
  b.set((s.mac ?? "02:00:00:00:00:01").split(":").map((h) => parseInt(h, 16)), 28);
  dv.setUint32(HEADER_LEN, MAGIC_COOKIE);
  b.set(opts, HEADER_LEN + 4);
  return b;
}
