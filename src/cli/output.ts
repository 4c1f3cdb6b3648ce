/** Rendering for every command that prints data: tables for people, JSON for programs. */
export type Format = "table" | "json";

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | null | undefined;
}

export function formatFrom(args: { format?: string; json?: boolean }): Format {
  return args.json || args.format === "json" ? "json" : "table";
}

export function printJson(data: unknown): void {
  process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
}

export function table<T>(rows: T[], columns: Column<T>[]): string {
  const cells = rows.map((r) => columns.map((c) => String(c.value(r) ?? "")));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => (i === vals.length - 1 ? v : v.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join("\n") + "\n";
}

/** Lists: a table, JSON, or (quiet) one key per line. */
export function render<T>(rows: T[], columns: Column<T>[], opts: { format: Format; quiet?: boolean; key?: (row: T) => string; json?: unknown }): void {
  if (opts.format === "json") return printJson(opts.json ?? rows);
  if (opts.quiet && opts.key) {
    process.stdout.write(rows.map(opts.key).map((k) => `${k}\n`).join(""));
    return;
  }
  process.stdout.write(table(rows, columns));
}

/** One record as "key: value" lines for people. */
export function renderRecord(record: Record<string, unknown>, format: Format): void {
  if (format === "json") return printJson(record);
  const width = Math.max(...Object.keys(record).map((k) => k.length));
  const lines = Object.entries(record)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${(k + ":").padEnd(width + 2)}${typeof v === "object" && v !== null ? JSON.stringify(v) : String(v ?? "-")}`);
  process.stdout.write(lines.join("\n") + "\n");
}

/** Progress and notes go to stderr so stdout stays parseable. */
export function note(msg: string): void {
  process.stderr.write(`${msg}\n`);
}
