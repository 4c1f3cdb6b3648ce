/**
 * The Internet checksum (RFC 1071) over frame bytes: a one's complement sum of big-endian 16-bit words.
 * The hot loop adds aligned 32-bit words in host order (little endian) into doubles, which hold the
 * sum of a 64 KiB frame exactly (16 Ki words < 2^46); folded to 16 bits that is the big-endian sum
 * with its bytes swapped (RFC 1071 §2(B)), so it is swapped back once at the end. Eight words a turn
 * (in DFG a word a turn is 1.2-1.6 GB/s, eight 4.4-6.3; FTL's one a turn 6.3-7.9: a 64 KiB loop in
 * `bun`, load 2-5): sumBytes is the one function the helper lets reach FTL (no-ftl.ts FTL_ALLOWED).
 * Pure and allocation-free: callers pass the buffer's byte and word views and absolute offsets.
 */

/** Folds a one's complement sum (any size below 2^53) to 16 bits. */
export function fold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s % 65536) + Math.floor(s / 65536);
  return s;
}

/** The sum of [start, end) as big-endian 16-bit words paired from `start` (an odd tail byte is padded with 0); not folded. */
export function sumBytes(bytes: Uint8Array, words: Uint32Array, start: number, end: number): number {
  if (start & 1) return sumSlow(bytes, start, end);
  let i = start;
  let s = 0;
  if (i & 2 && i + 2 <= end) {
    s += (bytes[i]! << 8) | bytes[i + 1]!;
    i += 2;
  }
  const w0 = i >> 2;
  const w1 = end >> 2;
  if (w1 > w0) {
    let a = 0;
    let b = 0;
    let k = w0;
    for (; k + 8 <= w1; k += 8) {
      a += words[k]! + words[k + 1]! + words[k + 2]! + words[k + 3]!;
      b += words[k + 4]! + words[k + 5]! + words[k + 6]! + words[k + 7]!;
    }
    for (; k < w1; k++) a += words[k]!;
    const f = fold(a + b);
    s += ((f & 0xff) << 8) | (f >> 8);
    i = w1 << 2;
  }
  for (; i + 1 < end; i += 2) s += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < end) s += bytes[i]! << 8;
  return s;
}

/** Byte by byte, for a range that starts at an odd offset (never in frames the kernel builds). Exported for no-ftl.ts. */
export function sumSlow(bytes: Uint8Array, start: number, end: number): number {
  let s = 0;
  let i = start;
  for (; i + 1 < end; i += 2) s += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < end) s += bytes[i]! << 8;
  return s;
}

/** The checksum field's value for a sum: the folded sum's complement. */
export const complement = (sum: number): number => ~fold(sum) & 0xffff;

/** A range whose checksum field is included verifies when its folded sum is all ones. */
export const verifies = (sum: number): boolean => fold(sum) === 0xffff;

/** Writes a 16-bit big-endian value. */
export function putBe16(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >> 8;
  bytes[at + 1] = value & 0xff;
}

export const be16 = (bytes: Uint8Array, at: number): number => (bytes[at]! << 8) | bytes[at + 1]!;
