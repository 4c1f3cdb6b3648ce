/**
 * A command's failure as the user sees it: one `error: ...` line (or a JSON error) on stderr, and the
 * documented exit code it returns. Shared by the CLI runner (run.ts) and the helper's fast path
 * (helper-fast.ts), which does not load citty.
 */
import { VmlanError } from "../core/errors.ts";
import { escapeControl } from "../core/text.ts";

const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

export function reportError(e: unknown, json: boolean, debug: boolean): number {
  let code = "EINTERNAL";
  let exit = 1;
  let message = e instanceof Error ? e.message : String(e);
  let details: Record<string, unknown> | undefined;
  if (e instanceof VmlanError) {
    ({ code, exitCode: exit, details } = e);
  } else if (e instanceof Error && e.name === "CLIError") {
    code = (e as Error & { code?: string }).code ?? "EARG";
    exit = 2;
    message = stripAnsi(message);
  } else {
    message = `internal error: ${message}`;
  }
  const lines = e instanceof VmlanError ? e.lines : [];
  if (json) process.stderr.write(`${JSON.stringify({ error: { code, message, ...(details ? { details } : {}) } })}\n`);
  // Values in messages come from users and guests: escaped, so each line stays one line.
  else process.stderr.write([`error: ${message}`, ...lines.map((l) => `  ${l}`)].map(escapeControl).join("\n") + "\n");
  if (debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  return exit;
}
