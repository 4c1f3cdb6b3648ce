/**
 * `--help` and `vmlan help COMMAND` as text for an 80-column terminal: the usage, the long text,
 * arguments and options in two columns (descriptions wrapped under their column, a long label on
 * its own line), sub-commands one line each, examples. No padding past the text, no colours.
 */
import { parseBlocks, splitExample, wrap, wrapCommand } from "./text.ts";
import type { HelpItem, HelpModel } from "./model.ts";

export const HELP_WIDTH = 80;
/** Labels up to this wide share their line with the description; longer ones get a line of their own. */
const MAX_LABEL = 24;

function blocks(source: string, width: number): string[] {
  const out: string[] = [];
  for (const b of parseBlocks(source)) {
    if (out.length) out.push("");
    if (b.kind === "text") out.push(...wrap(b.text, width));
    else if (b.kind === "pre") out.push(...b.lines.map((l) => `  ${l}`));
    else for (const item of b.items) out.push(...wrap(item, width, "- ", "  "));
  }
  return out;
}

/** Two columns: "  LABEL  description", the description wrapped in its own column. */
export function columns(items: HelpItem[], width: number): string[] {
  const fitting = items.map((i) => i.label.length).filter((n) => n <= MAX_LABEL);
  const labelWidth = fitting.length ? Math.max(...fitting) : MAX_LABEL;
  const indent = " ".repeat(2 + labelWidth + 2);
  const out: string[] = [];
  for (const { label, description } of items) {
    if (label.length > labelWidth) {
      out.push(`  ${label}`);
      if (description) out.push(...wrap(description, width, indent));
    } else {
      out.push(...wrap(description, width, `  ${label.padEnd(labelWidth)}  `, indent));
    }
  }
  return out;
}

/** "  command  # comment" when that fits, else the comment above the (wrapped) command. */
function examples(list: string[], width: number): string[] {
  const out: string[] = [];
  for (const e of list) {
    const { command, comment } = splitExample(e);
    const oneLine = `  ${command}${comment ? `  # ${comment}` : ""}`;
    if (oneLine.length <= width) {
      out.push(oneLine);
      continue;
    }
    if (comment) out.push(...wrap(comment, width, "  # ", "  # "));
    out.push(...wrapCommand(command, width, "  "));
  }
  return out;
}

export function renderHelp(m: HelpModel, width = HELP_WIDTH): string {
  const out: string[] = [];
  const section = (title: string, lines: string[]) => {
    if (lines.length) out.push("", `${title}:`, ...lines);
  };
  out.push(...wrap(m.path.length === 0 && m.version ? `vmlan ${m.version}: ${m.summary}` : m.summary, width));
  section("Usage", m.usage.flatMap((u) => wrapCommand(u, width, "  ")));
  if (m.details) out.push("", ...blocks(m.details, width));
  section("Arguments", m.arguments.length ? columns(m.arguments, width) : []);
  section("Commands", m.commands.length ? columns(m.commands.map((c) => ({ label: [c.name, ...c.aliases].join(", "), description: c.summary })), width) : []);
  section("Options", columns(m.options, width));
  section("Examples", examples(m.examples, width));
  if (m.commands.length) {
    const sub = `${m.title} COMMAND`;
    out.push("", ...wrap(`\`${sub} --help\` (or \`vmlan help ${[...m.path, "COMMAND"].join(" ")}\`) shows a command's options.`, width));
  }
  return `${out.join("\n")}\n`;
}
