import { UsageError } from "../../../core/errors.ts";
import { formatFrom, render } from "../../output.ts";
import type { LinkResult } from "../../compat/install.ts";

export const linkArgs = {
  prefix: { type: "string" as const, valueHint: "DIR", description: "Put the links in PREFIX/bin instead of each program's own directory (/opt/vmnet-helper/bin, ...)" },
  bin: { type: "string" as const, valueHint: "PATH", description: "The vmlan binary the links point at (default: this binary)" },
};

/** The binary to link to: --bin, else this one (from source there is no binary to point at). */
export function vmlanBinary(bin: string | undefined): string {
  if (bin !== undefined) return bin;
  if (/\/bun(\.exe)?$/.test(process.execPath)) throw new UsageError("running from source: pass --bin /path/to/vmlan (the compiled binary)");
  return process.execPath;
}

/** One row per link; errors on stderr, one line each; the exit code of the first failure. */
export function printLinks(results: LinkResult[], args: { format?: string; json?: boolean }): void {
  const rows = results.map((r) => ({ name: r.name, path: r.path, outcome: r.outcome ?? "failed", ...(r.error ? { error: r.error.message } : {}) }));
  render(rows, [{ header: "NAME", value: (r) => r.name }, { header: "PATH", value: (r) => r.path }, { header: "OUTCOME", value: (r) => r.outcome }], { format: formatFrom(args) });
  for (const r of results) if (r.error && formatFrom(args) !== "json") process.stderr.write(`error: ${r.error.message}\n`);
  const failed = results.find((r) => !r.ok);
  if (failed) process.exitCode = failed.error!.exitCode;
}
