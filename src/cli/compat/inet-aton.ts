/**
 * inet_aton(3), which vmnet-helper uses to check its address options: one to four parts separated
 * by dots, each decimal, octal (leading 0) or hex (0x); the last part fills the remaining bytes
 * ("10.1" is 10.0.0.1); whitespace after the address ends it. Returns the dotted quad, or null where
 * inet_aton returns 0.
 */
const MAX_LAST = [0xffffffff, 0xffffff, 0xffff, 0xff];

function part(s: string): number | null {
  let m: RegExpExecArray | null;
  if ((m = /^0[xX]([0-9a-fA-F]+)$/.exec(s))) return Number.parseInt(m[1]!, 16);
  if (/^0[0-7]*$/.test(s)) return Number.parseInt(s, 8);
  if (/^[1-9][0-9]*$/.test(s)) return Number.parseInt(s, 10);
  return null;
}

export function inetAton(input: string): string | null {
  const text = input.split(/[ \t\n\v\f\r]/, 1)[0]!;
  const parts = text.split(".");
  if (parts.length > 4) return null;
  const values: number[] = [];
  for (const p of parts) {
    const v = part(p);
    if (v === null) return null;
    values.push(v);
  }
  const last = values.pop()!;
  if (values.some((v) => v > 255) || last > MAX_LAST[values.length]!) return null;
  let n = last;
  values.forEach((v, i) => { n += v * 2 ** (8 * (3 - i)); });
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}
