/**
 * Dotted-quad IPv4 as integers, without ipaddr.js: what a helper's start line needs (its lease's
 * gateway, which vmlan always stores in this form), so the helper's path through the services
 * daemon does not load ipaddr.js (bench helper). subnet.ts builds on it and adds the other spellings.
 */

/** Four decimal parts without leading zeros, as ipaddr.js's isValidFourPartDecimal wants (each also <= 255). */
const FOUR_PART = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/** The four octets of a dotted-quad, or null for anything else (parsed by hand: every lease and query goes through here). */
export function fourPart(addr: string): number[] | null {
  const m = FOUR_PART.exec(addr);
  if (!m) return null;
  const b = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
  return b.every((x) => x <= 255) ? b : null;
}

export const octetsToInt = (b: readonly number[]): number => ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!;

export function intToV4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function maskV4(prefix: number): string {
  return intToV4(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
}

/** Dotted mask and last usable address (broadcast - 1) of the /prefix network containing the dotted-quad `address`. */
export function ipv4Range(address: string, prefix: number): { mask: string; end: string } {
  const b = fourPart(address);
  if (!b) throw new Error(`not a dotted-quad IPv4 address: ${JSON.stringify(address)}`);
  const size = 2 ** (32 - prefix);
  const net = Math.floor(octetsToInt(b) / size) * size;
  return { mask: maskV4(prefix), end: intToV4(net + size - (size > 2 ? 2 : 1)) };
}
