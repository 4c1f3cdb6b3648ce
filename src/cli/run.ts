import { defineCommand, runCommand, renderUsage, type CommandDef, type ArgsDef } from "citty";
import { VmlanError } from "../core/errors.ts";
import { commands } from "./commands/index.ts";
import { checkFlags } from "./flags.ts";
import { escapeControl } from "../core/text.ts";
import { VERSION } from "../build-info.ts";

const root = defineCommand({
  meta: { name: "vmlan", version: VERSION, description: "Real networks for virtual machines and containers" },
  subCommands: commands,
});

type Cmd = CommandDef<ArgsDef>;
const resolve = async <T>(v: T | Promise<T> | (() => T | Promise<T>)): Promise<T> => (typeof v === "function" ? (v as () => T | Promise<T>)() : v);

/** Walks the sub-command chain named by argv; returns the leaf, its parent and the leaf's own args. */
async function resolveChain(argv: string[]): Promise<{ cmd: Cmd; parent?: Cmd; path: string[]; rest: string[] }> {
  let cmd: Cmd = root;
  let parent: Cmd | undefined;
  const path: string[] = [];
  let rest = argv;
  for (;;) {
    const subs = await resolve(cmd.subCommands ?? {});
    const i = rest.findIndex((a) => !a.startsWith("-"));
    const name = i < 0 || rest.slice(0, i).includes("--") ? "" : rest[i]!;
    let next = name ? subs[name] : undefined;
    if (!next && name) {
      for (const s of Object.values(subs)) {
        const def = await resolve(s) as Cmd;
        const meta = await resolve(def.meta ?? {});
        if ([meta.alias].flat().includes(name)) next = def;
      }
    }
    if (!next) {
      if (!cmd.default) break;
      next = subs[await resolve(cmd.default)]; // `vmlan broker --flag` runs broker's default sub-command
      if (!next) break;
      parent = cmd;
      cmd = (await resolve(next)) as Cmd;
      path.push(await resolve(parent.default!));
      break;
    }
    parent = cmd;
    cmd = (await resolve(next)) as Cmd;
    path.push(name);
    rest = rest.slice(i + 1);
  }
  return { cmd, parent, path, rest };
}

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
    const { cmd, parent, path, rest } = await resolveChain(rawArgs);
    const dd = rawArgs.indexOf("--");
    const flags = dd < 0 ? rawArgs : rawArgs.slice(0, dd);
    if (flags.includes("--help") || flags.includes("-h") || rawArgs.length === 0 || (cmd.subCommands && !cmd.run && rest.filter((a) => !a.startsWith("-")).length === 0)) {
      process.stdout.write(`${stripAnsiIfPiped(await renderUsage(cmd, parent))}\n`);
      return;
    }
    if (!cmd.subCommands) checkFlags((await resolve(cmd.args ?? {})) as ArgsDef, rest, path.join(" "));
    // The resolved chain, with a group's default sub-command written out (`broker --x` → `broker run --x`).
    await runCommand(root, { rawArgs: [...path, ...rest] });
  } catch (e) {
    process.exitCode = report(e, wantsJson(rawArgs), debug);
  }
}

function stripAnsiIfPiped(s: string): string {
  return process.stdout.isTTY ? s : stripAnsi(s);
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
