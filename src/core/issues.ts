/**
 * valibot issues as one line that names the field and the value. Schemas with their own message
 * (`invalid network name "x y": ...`) keep it; valibot's defaults ("Invalid value: Expected >=576
 * but received 0") become `invalid mtu "0": expected >=576`.
 */
import type * as v from "valibot";

const DEFAULT_MESSAGE = /^Invalid [a-z ]+: /;

export function issueText(issue: v.BaseIssue<unknown>): string {
  if (!DEFAULT_MESSAGE.test(issue.message)) return issue.message;
  const path = (issue.path ?? []).map((p) => String(p.key)).join(".");
  const input = typeof issue.input === "string" ? issue.input : (JSON.stringify(issue.input) ?? String(issue.input));
  return `invalid ${path || "value"} "${input}": expected ${issue.expected ?? "another value"}`;
}
