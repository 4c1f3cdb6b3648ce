/**
 * What a command's help says, as data, built from its citty definition (meta, args, sub-commands):
 * the terminal renderer (render.ts) and the man pages (man.ts) both print this, so they never
 * disagree. Text conventions: ./meta.ts and ./text.ts.
 */
import type { ArgDef, ArgsDef } from "citty";
import "./meta.ts";
import { isHidden, metaOf, resolve, type Cmd } from "../tree.ts";

export interface HelpItem { label: string; description: string }
export interface HelpSub { name: string; aliases: string[]; summary: string }

export interface HelpModel {
  /** ["network", "create"]; [] is vmlan itself. */
  path: string[];
  /** "vmlan network create". */
  title: string;
  summary: string;
  details?: string;
  version?: string;
  /** Full synopsis lines, "vmlan network create [OPTIONS] NAME". */
  usage: string[];
  arguments: HelpItem[];
  options: HelpItem[];
  commands: HelpSub[];
  /** The sub-command that runs when none is named (`vmlan broker` = `vmlan broker run`). */
  defaultCommand?: string;
  examples: string[];
  sections: { title: string; body: string }[];
}

type Def = ArgDef & { valueHint?: string; alias?: string | string[]; options?: readonly string[]; negativeDescription?: string };

const HELP: HelpItem = { label: "-h, --help", description: "Show this help" };
const ROOT_OPTIONS: HelpItem[] = [
  { label: "--version", description: "Print the version (as `vmlan version`)" },
  { label: "--debug", description: "Add the stack trace to an error (any command; or VMLAN_DEBUG=1)" },
];

/** `--subnet CIDR`: the hint, else the flag's name in capitals. */
const valueName = (name: string, d: Def) => d.valueHint ?? name.toUpperCase().replace(/-/g, "_");

function optionLabel(name: string, d: Def): string {
  const aliases = [d.alias ?? []].flat().map((a) => (a.length === 1 ? `-${a}` : `--${a}`));
  let flag = `--${name}`;
  if (d.type === "boolean" && d.default === true) flag = `--[no-]${name}`;
  else if (d.type === "enum" && d.options?.length) flag += ` ${d.valueHint ?? d.options.join("|")}`;
  else if (d.type === "string") flag += ` ${valueName(name, d)}`;
  return [...aliases, flag].join(", ");
}

function describe(d: Def, required: boolean): string {
  let text = d.description ?? "";
  if (required) text += " (required)";
  const showDefault = d.default !== undefined && d.type !== "boolean" && !/\bdefault\b/i.test(text);
  if (showDefault) text += ` (default: ${d.default})`;
  return text.trim();
}

export async function helpModel(cmd: Cmd, path: string[]): Promise<HelpModel> {
  const meta = await metaOf(cmd);
  const args = Object.entries((await resolve(cmd.args ?? {})) as ArgsDef) as [string, Def][];
  const title = ["vmlan", ...path].join(" ");
  const positionals = args.filter(([, d]) => d.type === "positional");
  const flags = args.filter(([, d]) => d.type !== "positional");

  const commands: HelpSub[] = [];
  for (const [name, sub] of Object.entries(await resolve(cmd.subCommands ?? {}))) {
    const m = await metaOf((await resolve(sub)) as Cmd);
    if (!isHidden(name, m)) commands.push({ name, aliases: [m.alias ?? []].flat(), summary: m.description ?? "" });
  }

  let usage: string[];
  if (meta.usage) usage = meta.usage.split("\n").map((u) => `${title} ${u}`.trimEnd());
  else if (commands.length) usage = [`${title} COMMAND [OPTIONS]`];
  else {
    const parts = [title];
    if (flags.length) parts.push("[OPTIONS]");
    for (const [name, d] of flags) if (d.required && d.default === undefined) parts.push(`--${name} ${valueName(name, d)}`);
    for (const [name, d] of positionals) {
      const n = valueName(name, d);
      parts.push(d.required === false || d.default !== undefined ? `[${n}]` : n);
    }
    usage = [parts.join(" ")];
  }
  const defaultCommand = cmd.default ? await resolve(cmd.default) : undefined;
  if (defaultCommand && !meta.usage) usage.push(`${title} [OPTIONS]  (= ${title} ${defaultCommand})`);

  return {
    path, title, usage, defaultCommand, commands,
    summary: meta.description ?? "",
    details: meta.details,
    version: meta.version,
    arguments: positionals.map(([name, d]) => ({ label: valueName(name, d), description: describe(d, d.required !== false && d.default === undefined) })),
    options: [
      ...flags.map(([name, d]) => ({ label: optionLabel(name, d), description: describe(d, d.required === true && d.default === undefined) })),
      ...(path.length === 0 ? ROOT_OPTIONS : []),
      HELP,
    ],
    examples: meta.examples ?? [],
    sections: meta.sections ?? [],
  };
}
