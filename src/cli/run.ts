import { runCommand, type ArgsDef } from "citty";
import { checkFlags } from "./flags.ts";
import { reportError } from "./report-error.ts";
import { root } from "./root.ts";
import { resolve, resolveChain } from "./tree.ts";
import { helpText } from "./help/index.ts";

function wantsJson(argv: string[]): boolean {
  const i = argv.indexOf("--format");
  return argv.includes("--json") || argv.includes("--format=json") || (i >= 0 && argv[i + 1] === "json");
}


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
    process.exitCode = reportError(e, wantsJson(rawArgs), debug);
  }
}
