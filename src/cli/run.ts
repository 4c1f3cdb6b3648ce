import { runCommand, type ArgsDef } from "citty";
import { VmlanError } from "../core/errors.ts";
import { checkFlags } from "./flags.ts";
import { escapeControl } from "../core/text.ts";
import { root } from "./root.ts";
import { resolve, resolveChain } from "./tree.ts";
import { helpText } from "./help/index.ts";

function wantsJson(argv: string[]): boolean {
  const i = argv.indexOf("--format");
  return argv.includes("--json") || argv.includes("--format=json") || (i >= 0 && argv[i + 1] === "json");
}

const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

/** Runs the CLI: one `error: ...` line (or a JSON error) and a documented exit code on failure. */
export async function run(argv: string[]): Promise<void> {
  const debug = argv.includes("--debug") || process.env.VMLAN_DEBUG === "1";
  const rawArgs = argv.filter((a) => a !== "--debug");
  try {
    const dd = rawArgs.indexOf("--");
    const flags = dd < 0 ? rawArgs : rawArgs.slice(0, dd);
    if (flags.includes("--help") || flags.includes("-h")) {
      const asked = await resolveChain(root, rawArgs, { defaults: false });
      process.stdout.write(await helpText(asked.cmd, asked.path));
      return;
    }
    const { cmd, path, rest } = await resolveChain(root, rawArgs);
    if (rawArgs.length === 0 || (cmd.subCommands && !cmd.run && rest.filter((a) => !a.startsWith("-")).length === 0)) {
      process.stdout.write(await helpText(cmd, path));
      return;
    }
    if (!cmd.subCommands) checkFlags((await resolve(cmd.args ?? {})) as ArgsDef, rest, path.join(" "));
    // The resolved chain, with a group's default sub-command written out (`broker --x` → `broker run --x`).
    await runCommand(root, { rawArgs: [...path, ...rest] });
  } catch (e) {
    process.exitCode = report(e, wantsJson(rawArgs), debug);
  }
}

function report(e: unknown, json: boolean, debug: boolean): number {
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
