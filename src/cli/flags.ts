/**
 * Flags are checked here, once for every command, before citty parses them and before the command
 * runs: unknown options, missing values, enum values and the value checks a flag declares
 * (`intFlag`, `secondsFlag`, ...). Each problem is one UsageError naming the flag and the value:
 * `invalid --mtu "0": expected 576..65535`. The walk mirrors node:util parseArgs, which citty uses:
 * a string or enum flag takes the next argument as its value even when it starts with "-", so
 * `--mtu -5` is a bad MTU, not an unknown option "-5" (getopt_long's rule for required arguments).
 */
import type { ArgDef, ArgsDef } from "citty";
import { UsageError } from "../core/errors.ts";

/** Returns null for a good value, else what was expected ("576..65535"). */
export type ValueCheck = (value: string) => string | null;

/** A flag definition that may carry a value check; citty ignores the extra key. */
export type CheckedDef = ArgDef & { valueCheck?: ValueCheck };

const INT = /^\d+$/;
const DECIMAL = /^\d+(\.\d+)?$/;

/** A whole number from min to max (decimal digits only: no sign, no exponent, no hex). */
export function intRange(min: number, max: number): ValueCheck {
  return (s) => (INT.test(s) && Number(s) >= min && Number(s) <= max ? null : `expected ${min}..${max}`);
}

/** Seconds, decimals allowed; `positive` refuses 0. */
export function seconds(opts: { positive?: boolean } = {}): ValueCheck {
  return (s) => (DECIMAL.test(s) && Number.isFinite(Number(s)) && (!opts.positive || Number(s) > 0) ? null : `expected seconds${opts.positive ? " > 0" : ""}, e.g. 30 or 0.5`);
}

/** A value matching `re`; `expected` says what that means to a person. */
export function pattern(re: RegExp, expected: string): ValueCheck {
  return (s) => (re.test(s) ? null : `expected ${expected}`);
}

type Extra = { default?: string; alias?: string | string[]; required?: boolean; valueHint?: string };

/** A string flag whose value must pass `check` (generic over `extra`, so citty still sees a default). */
export function checkedFlag<E extends Extra = {}>(description: string, check: ValueCheck, extra?: E) {
  return { type: "string" as const, description, ...(extra as E), valueCheck: check };
}
export const intFlag = <E extends Extra = {}>(description: string, min: number, max: number, extra?: E) => checkedFlag(description, intRange(min, max), extra);
export const secondsFlag = <E extends Extra = {}>(description: string, extra?: E & { positive?: boolean }) => {
  const { positive, ...rest } = extra ?? ({} as E & { positive?: boolean });
  return checkedFlag(description, seconds({ positive }), rest as E);
};

const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Looks a flag up by its name, camelCase name or alias. */
function lookup(args: ArgsDef): (name: string) => [string, CheckedDef] | undefined {
  const byName = new Map<string, [string, CheckedDef]>();
  for (const [name, def] of Object.entries(args)) {
    if (def.type === "positional") continue;
    byName.set(name, [name, def as CheckedDef]);
    byName.set(camel(name), [name, def as CheckedDef]);
    for (const a of [(def as { alias?: string | string[] }).alias ?? []].flat()) byName.set(a, [name, def as CheckedDef]);
  }
  return (n) => byName.get(n);
}

const BUILTIN = new Set(["help", "h", "debug"]);
const takesValue = (def: CheckedDef) => def.type === "string" || def.type === "enum";

/** Checks every flag in `rest` (a leaf command's arguments); throws the first problem. */
export function checkFlags(args: ArgsDef, rest: readonly string[], command: string): void {
  const find = lookup(args);
  const see = `see vmlan ${command} --help`;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === "--") return;
    if (!a.startsWith("-") || a === "-") continue; // a positional
    const eq = a.indexOf("=");
    const written = eq < 0 ? a : a.slice(0, eq);
    const bare = written.replace(/^--?/, "");
    if (BUILTIN.has(bare)) continue;
    let found = find(bare);
    if (!found && bare.startsWith("no-")) {
      const negated = find(bare.slice(3));
      if (negated && negated[1].type === "boolean" && eq < 0) continue; // --no-dhcp
    }
    if (!found) throw new UsageError(`unknown option "${written}" for "vmlan ${command}"; ${see}`);
    const [name, def] = found;
    if (!takesValue(def)) continue; // a boolean: --keep, --dhcp=false
    let value: string;
    if (eq >= 0) value = a.slice(eq + 1);
    else if (i + 1 < rest.length) value = rest[++i]!;
    else throw new UsageError(`missing value for --${name}; ${see}`);
    checkValue(name, def, value);
  }
}

function checkValue(name: string, def: CheckedDef, value: string): void {
  let expected: string | null = null;
  if (def.type === "enum") {
    const options = (def as { options?: readonly string[] }).options ?? [];
    if (options.length > 0 && !options.includes(value)) expected = `expected one of ${options.join(", ")}`;
  } else if (def.valueCheck) expected = def.valueCheck(value);
  if (expected !== null) throw new UsageError(`invalid --${name} "${value}": ${expected}`, { details: { flag: `--${name}`, value } });
}
