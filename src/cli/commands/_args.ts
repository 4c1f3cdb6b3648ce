/** Flag fragments shared by commands. */
export const formatArgs = {
  format: { type: "enum" as const, options: ["table", "json"], description: "Output format: table or json", default: "table" },
  json: { type: "boolean" as const, description: "Same as --format json" },
};

export const quietArg = {
  quiet: { type: "boolean" as const, alias: "q", description: "Print names only" },
};

/** Every value of a repeatable flag (`--label a=1 --label b=2`); citty itself keeps only the last. */
export function repeated(rawArgs: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === "--") break;
    if (a === `--${name}` && i + 1 < rawArgs.length) out.push(rawArgs[++i]!);
    else if (a.startsWith(`--${name}=`)) out.push(a.slice(name.length + 3));
  }
  return out;
}

/** Whether the user typed `--name`, `--name=...` or `--no-name` (to tell a flag from its default). */
export function given(rawArgs: string[], name: string): boolean {
  const end = rawArgs.indexOf("--");
  return (end < 0 ? rawArgs : rawArgs.slice(0, end)).some((a) => a === `--${name}` || a === `--no-${name}` || a.startsWith(`--${name}=`));
}

/** Positionals after the command's own flags (citty puts them in `_`). */
export function positionals(args: { _: string[] }): string[] {
  return args._.filter((a) => a !== "--");
}

/** Every value of a repeatable flag given by its long name or its one-letter alias (`-p X`, `--publish=X`). */
export function repeatedWithAlias(rawArgs: string[], name: string, alias: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === "--") break;
    if ((a === `--${name}` || a === `-${alias}`) && i + 1 < rawArgs.length) out.push(rawArgs[++i]!);
    else if (a.startsWith(`--${name}=`)) out.push(a.slice(name.length + 3));
    else if (a.startsWith(`-${alias}=`)) out.push(a.slice(alias.length + 2));
  }
  return out;
}
