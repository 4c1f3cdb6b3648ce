import { bigToV6, type SubnetV6 } from "./subnet.ts";
import { macBytes } from "./mac.ts";

/** Modified EUI-64 interface identifier (RFC 4291 appendix A): flip the U/L bit, insert ff:fe. */
export function eui64(mac: string): bigint {
  const b = macBytes(mac);
  const id = [b[0]! ^ 0x02, b[1]!, b[2]!, 0xff, 0xfe, b[3]!, b[4]!, b[5]!];
  return id.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
}

/** prefix + EUI-64(mac) */
export function addressV6For(prefix: SubnetV6, mac: string): string {
  return bigToV6(prefix.base | eui64(mac));
}

/** The MAC whose modified EUI-64 is the low 64 bits of `address`, or null when they are not one (no ff:fe in the middle). */
export function macOfEui64(address: bigint): string | null {
  const id = address & 0xffff_ffff_ffff_ffffn;
  const b = Array.from({ length: 8 }, (_, i) => Number((id >> BigInt(56 - 8 * i)) & 0xffn));
  if (b[3] !== 0xff || b[4] !== 0xfe) return null;
  return [b[0]! ^ 0x02, b[1]!, b[2]!, b[5]!, b[6]!, b[7]!].map((x) => x.toString(16).padStart(2, "0")).join(":");
}
