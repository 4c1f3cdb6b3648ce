/**
 * Reading an apply file: TOML (Bun.TOML.parse) or JSON (by the .json extension, or content that
 * starts with "{"), then the schema, then the checks across entries. Every problem is counted
 * before anything is reported, so one run names them all, but only the first REPORTED are kept
 * and shown (with a count of the rest), and the networks are validated one at a time: a file with
 * 200,000 bad entries costs a short report and one entry's issues, not a 54 MB report and 838 MB.
 */
import * as v from "valibot";
import { UsageError } from "../errors.ts";
import { ApplyFileTop, FileNetwork, issueProblems, type Problem } from "./schema.ts";
import { checkFile } from "./checks.ts";

/** A validated apply file; `file` is the name used in messages ("<stdin>" for "-"). */
export interface ApplyDoc {
  file: string;
  networks: FileNetwork[];
}

/** Problems shown (and kept) per report; the rest are counted. 20 lines fit a terminal with the count. */
export const REPORTED = 20;

/** Collects problems: keeps the first REPORTED, counts all. */
export class Problems {
  readonly shown: Problem[] = [];
  total = 0;
  add(ps: readonly Problem[]): void {
    for (const p of ps) if (this.total++ < REPORTED) this.shown.push(p);
  }
}

/**
 * The file is refused (exit 2); nothing was changed. One problem reads as one line
 * (`FILE: networks[1].subnet: invalid subnet "..."`); several as a count, then one line each for
 * the first REPORTED and `... and N more`. JSON gets the same problems and `total`.
 */
export class ApplyFileError extends UsageError {
  readonly problems: Problem[];
  readonly total: number;
  constructor(readonly file: string, problems: Problem[] | Problems) {
    const all = problems instanceof Problems ? problems : new Problems();
    if (!(problems instanceof Problems)) all.add(problems);
    const lines = all.shown.map((p) => `${p.path}: ${p.message}`);
    if (all.total > all.shown.length) lines.push(`... and ${all.total - all.shown.length} more`);
    const one = all.total === 1;
    super(one ? `${file}: ${lines[0]}` : `${file}: ${all.total} problems; nothing was changed`, {
      code: "EAPPLYFILE", details: { file, problems: all.shown, total: all.total }, lines: one ? [] : lines,
    });
    this.problems = all.shown;
    this.total = all.total;
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
  const top = v.safeParse(ApplyFileTop, raw);
  const problems = new Problems();
  if (!top.success) {
    problems.add(issueProblems(top.issues));
    throw new ApplyFileError(file, problems);
  }
  const networks: FileNetwork[] = [];
  top.output.networks.forEach((entry, i) => {
    const n = v.safeParse(FileNetwork, entry);
    if (n.success) networks.push(n.output);
    else problems.add(issueProblems(n.issues, ["networks", i]));
  });
  if (problems.total > 0) throw new ApplyFileError(file, problems);
  checkFile(networks, problems);
  if (problems.total > 0) throw new ApplyFileError(file, problems);
  return { file, networks };
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
