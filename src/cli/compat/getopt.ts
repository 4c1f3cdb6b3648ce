/**
 * getopt_long(3) as the peers' C programs call it (optstring starting with ':', opterr = 0): long
 * options as `--name=value` or `--name value`, any unambiguous prefix of a long name (`--inter` for
 * `--interface-id`), short options as `-f3`, `-f 3` or clustered (`-vh`), `--` ending the options,
 * and operands permuted to the end (GNU and BSD libc both permute by default). Pure: returns the
 * options in command-line order so the caller can act on each as the C program does, first come first.
 */

export interface OptSpec {
  long: string;
  short?: string;
  /** Takes a value (required_argument); else no_argument. */
  arg: boolean;
}

export type OptEvent =
  | { kind: "option"; name: string; value?: string; word: string }
  /** `word` is the command-line word the C programs name in their message (`argv[optind]`). */
  | { kind: "missing-value"; word: string }
  | { kind: "unknown"; word: string };

export interface Parsed {
  events: OptEvent[];
  /** Non-option words, in order: those before `--` (permuted) and everything after it. */
  operands: string[];
}

function longMatch(specs: OptSpec[], name: string): OptSpec | "ambiguous" | null {
  const exact = specs.find((s) => s.long === name);
  if (exact) return exact;
  const prefixed = specs.filter((s) => s.long.startsWith(name));
  if (prefixed.length === 1) return prefixed[0]!;
  return prefixed.length > 1 ? "ambiguous" : null;
}

export function getopt(argv: string[], specs: OptSpec[]): Parsed {
  const events: OptEvent[] = [];
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === "--") {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (word.startsWith("--")) {
      const eq = word.indexOf("=");
      const name = word.slice(2, eq < 0 ? undefined : eq);
      const spec = name === "" ? null : longMatch(specs, name);
      if (spec === null || spec === "ambiguous" || (!spec.arg && eq >= 0)) {
        events.push({ kind: "unknown", word });
        continue;
      }
      if (!spec.arg) events.push({ kind: "option", name: spec.long, word });
      else if (eq >= 0) events.push({ kind: "option", name: spec.long, value: word.slice(eq + 1), word });
      else if (i + 1 < argv.length) events.push({ kind: "option", name: spec.long, value: argv[++i]!, word });
      else events.push({ kind: "missing-value", word });
      continue;
    }
    if (word.startsWith("-") && word !== "-") {
      for (let j = 1; j < word.length; j++) {
        const spec = specs.find((s) => s.short === word[j]);
        if (!spec) {
          events.push({ kind: "unknown", word });
          continue;
        }
        if (!spec.arg) {
          events.push({ kind: "option", name: spec.long, word });
          continue;
        }
        if (j + 1 < word.length) events.push({ kind: "option", name: spec.long, value: word.slice(j + 1), word });
        else if (i + 1 < argv.length) events.push({ kind: "option", name: spec.long, value: argv[++i]!, word });
        else events.push({ kind: "missing-value", word });
        break;
      }
      continue;
    }
    operands.push(word);
  }
  return { events, operands };
}
