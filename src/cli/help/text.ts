/**
 * The little markup of help texts (`details`, man `sections`), read the same way by the terminal
 * renderer and the man page renderer:
 *   - paragraphs are separated by a blank line; their lines are joined and re-wrapped;
 *   - a paragraph whose lines all start with two spaces is preformatted (commands, config);
 *   - a line starting with "- " starts a list item, which runs until the next item or blank line.
 * `code` in backticks stays as written on a terminal and becomes bold in a man page.
 */
export type Block =
  | { kind: "text"; text: string }
  | { kind: "pre"; lines: string[] }
  | { kind: "list"; items: string[] };

export function parseBlocks(source: string): Block[] {
  const blocks: Block[] = [];
  for (const para of source.trim().split(/\n\s*\n/)) {
    const lines = para.split("\n");
    if (lines.every((l) => l.startsWith("  "))) {
      blocks.push({ kind: "pre", lines: lines.map((l) => l.slice(2)) });
    } else if (lines[0]!.startsWith("- ")) {
      const items: string[] = [];
      for (const l of lines) {
        if (l.startsWith("- ")) items.push(l.slice(2).trim());
        else items[items.length - 1] += ` ${l.trim()}`;
      }
      blocks.push({ kind: "list", items });
    } else {
      blocks.push({ kind: "text", text: lines.map((l) => l.trim()).join(" ") });
    }
  }
  return blocks;
}

/**
 * Words of `text` in lines of at most `width` columns (a longer word gets a line of its own), the
 * first line after `first` (already on the line), the others after `rest`.
 */
export function wrap(text: string, width: number, first = "", rest = first, words = text.split(/\s+/).filter(Boolean)): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of words) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = rest;
      empty = true;
    }
    line += (empty ? "" : " ") + word;
    empty = false;
  }
  lines.push(line);
  return lines.map((l) => l.trimEnd());
}

/** "vmlan x --y  # what it does" → the command and its comment. */
export function splitExample(example: string): { command: string; comment?: string } {
  const i = example.indexOf("  # ");
  return i < 0 ? { command: example.trim() } : { command: example.slice(0, i).trim(), comment: example.slice(i + 4).trim() };
}

/** Shell words, quotes kept: `--exec "ping -c 1 web"` is one word. */
export function shellWords(command: string): string[] {
  return command.match(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g) ?? [];
}

/** A long command line broken between shell words with continuations ("\"), so it pastes as is. */
export function wrapCommand(command: string, width: number, indent: string): string[] {
  const lines = wrap(command, width - 2, indent, `${indent}    `, shellWords(command));
  return lines.map((l, i) => (i < lines.length - 1 ? `${l} \\` : l));
}
