import type { Column } from "../output.ts";
import type { ApplyResult, ResultItem } from "../../core/apply/execute.ts";
import type { Action } from "../../core/apply/plan.ts";

const DONE: Partial<Record<Action, string>> = { create: "created", change: "replaced", delete: "deleted", reserve: "reserved", publish: "published" };

/** Dry runs show the planned verb; real runs the outcome ("created", "failed", "not attempted"...). */
function actionWord(i: ResultItem): string {
  if (i.status === "applied") return DONE[i.action] ?? i.action;
  if (i.status === "failed") return "failed";
  if (i.status === "not-attempted") return "not attempted";
  return i.action;
}

function detail(i: ResultItem): string {
  if (i.status === "failed") return `${i.action}: ${i.error?.message ?? "failed"}`;
  if (i.status === "not-attempted") return `would ${i.action}: ${i.detail}`;
  return i.detail;
}

export const planColumns: Column<ResultItem>[] = [
  { header: "ACTION", value: actionWord },
  { header: "KIND", value: (i) => i.kind },
  { header: "NAME", value: (i) => i.name },
  { header: "DETAIL", value: detail },
];

export function countByStatus(r: ApplyResult): Record<string, number> {
  const out: Record<string, number> = { planned: 0, applied: 0, noop: 0, refused: 0, failed: 0, "not-attempted": 0 };
  for (const i of r.items) out[i.status] = (out[i.status] ?? 0) + 1;
  return out;
}

/** What `--format json` prints: every item with its planned action and what happened to it. */
export function planJson(r: ApplyResult): unknown {
  return {
    file: r.file, dryRun: r.dryRun, exitCode: r.exitCode, summary: countByStatus(r),
    items: r.items.map((i) => ({
      action: i.action, kind: i.kind, name: i.name, status: i.status, detail: i.detail,
      ...(i.error ? { error: { code: i.error.code, message: i.error.message } } : {}),
    })),
  };
}

/** The closing lines for people (stderr): says plainly when nothing changed, and where a run stopped. */
export function planSummary(r: ApplyResult): string[] {
  const c = countByStatus(r);
  if (r.dryRun) {
    if (c.planned + c.refused === 0) return [`dry run: nothing to change; ${r.file} matches the current state`];
    return [`dry run: ${c.planned} change(s) planned, ${c.noop} unchanged, ${c.refused} refused; nothing was changed`];
  }
  if (c.applied + c.failed + c.refused === 0) return [`nothing to change: ${r.file} already matches the current state`];
  const lines = [`applied ${c.applied}, unchanged ${c.noop}, refused ${c.refused}, failed ${c.failed}, not attempted ${c["not-attempted"]}`];
  const failed = r.items.find((i) => i.status === "failed");
  if (failed) lines.push(`error: apply stopped at ${failed.kind} "${failed.name}": ${failed.error?.message}; ${c["not-attempted"]} later change(s) not attempted`);
  return lines;
}
