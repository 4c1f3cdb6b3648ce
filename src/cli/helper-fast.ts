/**
 * `vmlan helper` without citty or the command tree (main.ts): a helper is started once per VM, and
 * its ready line and memory count (issue #15 §3, `bun run bench helper`). Only a plain command line
 * is taken here: every token a long flag of HELPER_ARGS, at most once, `--flag value` or
 * `--flag=value`. Anything else (a short alias, --help, --version, --debug, a positional, a value
 * that looks like a flag) and any usage error go to the full CLI, which reports them as always.
 */
import { HELPER_ARGS, helperRequest, runHelperArgs, type HelperArgs } from "./commands/_helper-args.ts";
import type { HelperRequest } from "./compat/helper-options.ts";
import { reportError } from "./report-error.ts";

/** Flags the fast path leaves to the full CLI: they print and exit rather than start a helper. */
const FULL_CLI = new Set(["version", "list-shared-interfaces"]);

/** The flags of a plain `vmlan helper` command line (argv after "helper"), or null. */
export function plainHelperArgs(argv: readonly string[]): HelperArgs | null {
  const out: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (!token.startsWith("--")) return null;
    const eq = token.indexOf("=");
    const name = token.slice(2, eq < 0 ? undefined : eq);
    const def = (HELPER_ARGS as Record<string, { type: string }>)[name];
    if (!def || FULL_CLI.has(name) || name in out) return null;
    if (def.type === "boolean") {
      if (eq >= 0) return null;
      out[name] = true;
      continue;
    }
    const value = eq >= 0 ? token.slice(eq + 1) : argv[++i];
    if (value === undefined || value === "" || value.startsWith("-")) return null;
    out[name] = value;
  }
  return out as HelperArgs;
}

/** The checked request, or null when the command line is not plain or not valid (the full CLI reports it). */
export function fastHelperRequest(argv: readonly string[]): HelperRequest | null {
  const args = plainHelperArgs(argv);
  if (!args) return null;
  try {
    return helperRequest(args);
  } catch {
    return null;
  }
}

/** Runs the helper; a failure after the checks is reported as the CLI reports it. */
export async function runFastHelper(r: HelperRequest): Promise<void> {
  try {
    process.exit(await runHelperArgs(r));
  } catch (e) {
    process.exitCode = reportError(e, false, process.env.VMLAN_DEBUG === "1");
  }
}
