/**
 * Reading an apply file: TOML (Bun.TOML.parse) or JSON (by the .json extension, or content that
 * starts with "{"), then the schema, then the checks across entries. Every problem is collected
 * before anything is reported, so one run names all of them.
 */
import * as v from "valibot";
import { UsageError } from "../errors.ts";
import { ApplyFile, issueProblems, type FileNetwork, type Problem } from "./schema.ts";
import { checkFile } from "./checks.ts";

/** A validated apply file; `file` is the name used in messages ("<stdin>" for "-"). */
export interface ApplyDoc {
  file: string;
  networks: FileNetwork[];
}

/**
 * The file is refused (exit 2); nothing was changed. One problem reads as one line
 * (`FILE: networks[1].subnet: invalid subnet "..."`); several as a count, then one line each.
 */
export class ApplyFileError extends UsageError {
  readonly problems: Problem[];
  constructor(readonly file: string, problems: Problem[]) {
    const lines = problems.map((p) => `${p.path}: ${p.message}`);
    const one = lines.length === 1;
    super(one ? `${file}: ${lines[0]}` : `${file}: ${lines.length} problems; nothing was changed`, { code: "EAPPLYFILE", details: { file, problems }, lines: one ? [] : lines });
    this.problems = problems;
  }
}

export type FileFormat = "toml" | "json";

export function detectFormat(file: string, text: string): FileFormat {
  return file.toLowerCase().endsWith(".json") || text.trimStart().startsWith("{") ? "json" : "toml";
}

/** Parses and validates the text of an apply file; throws ApplyFileError naming every problem. */
export function parseApplyText(text: string, file: string): ApplyDoc {
  let raw: unknown;
  const format = detectFormat(file, text);
  try {
    raw = format === "json" ? JSON.parse(text) : Bun.TOML.parse(text);
  } catch (e) {
    const why = (e as Error).message.replace(/^(TOML|JSON) Parse error: /, "");
    throw new ApplyFileError(file, [{ path: "(syntax)", message: `not valid ${format.toUpperCase()}: ${why}` }]);
  }
  const parsed = v.safeParse(ApplyFile, raw);
  if (!parsed.success) throw new ApplyFileError(file, issueProblems(parsed.issues));
  const problems = checkFile(parsed.output.networks);
  if (problems.length > 0) throw new ApplyFileError(file, problems);
  return { file, networks: parsed.output.networks };
}

/** Reads `path` ("-" for stdin) and validates it. */
export async function readApplyFile(path: string): Promise<ApplyDoc> {
  if (path === "-") return parseApplyText(await Bun.stdin.text(), "<stdin>");
  const f = Bun.file(path);
  let text: string;
  try {
    text = await f.text();
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (e as Error).message;
    throw new UsageError(`cannot read apply file ${path}: ${why}`);
  }
  return parseApplyText(text, path);
}
