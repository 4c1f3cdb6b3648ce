/**
 * Text from users and guests is shown escaped, so a value can never end a line, move the cursor or
 * recolour a terminal: C0 controls, DEL and C1 controls become \n, \t, \r or \xHH (ESC is \x1b), and
 * Unicode line separators and bidirectional overrides (which reorder what a reader sees) become
 * \uHHHH. Everything else, including other non-ASCII text, is kept as it is.
 */
const SHORT: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

// C0 (00-1f), DEL (7f), C1 (80-9f), U+2028/2029 line and paragraph separators, U+202A-202E and
// U+2066-2069 bidirectional embeddings, overrides and isolates.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `s` with every control or reordering character written as an escape; one line, always. */
export function escapeControl(s: string): string {
  return s.replace(UNSAFE, (c) => SHORT[c] ?? (c.charCodeAt(0) <= 0xff ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
}

const hex = (c: string, width: number) => c.charCodeAt(0).toString(16).padStart(width, "0");
