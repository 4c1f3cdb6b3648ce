import * as v from "valibot";
import { UsageError } from "../errors.ts";

export const LABEL_KEY_RE = /^[a-zA-Z0-9]([a-zA-Z0-9_./-]{0,62})$/;
export const LABEL_VALUE_RE = /^[a-zA-Z0-9_.:/@=+-]{0,128}$/;

export const Labels = v.record(
  v.pipe(v.string(), v.regex(LABEL_KEY_RE, (i) => `invalid label key "${i.input}"`)),
  v.pipe(v.string(), v.regex(LABEL_VALUE_RE, (i) => `invalid label value "${i.input}"`)),
);
export type Labels = v.InferOutput<typeof Labels>;

/** Parses `k=v` strings from the command line. */
export function parseLabels(items: string[]): Labels {
  const out: Labels = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    const key = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? "" : item.slice(eq + 1);
    if (!LABEL_KEY_RE.test(key)) throw new UsageError(`invalid label "${item}": key must be 1-63 of letters, digits, '_', '.', '/', '-'`);
    if (!LABEL_VALUE_RE.test(value)) throw new UsageError(`invalid label "${item}": value has characters outside letters, digits and _.:/@=+-`);
    out[key] = value;
  }
  return out;
}

/** Labels vmlan itself sets. */
export const LABEL_ROLE = "role";
export const ROLE_BUILTIN = "builtin";
