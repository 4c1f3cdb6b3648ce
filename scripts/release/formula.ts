/** Formula/vmlan.rb from packaging/homebrew/vmlan.rb.in: every @URL_…@ and @SHA256_…@ filled in, none left. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ReleaseError } from "./sh.ts";
import { REPO_ROOT } from "./stage.ts";

export interface FormulaAsset { target: string; url: string; sha256: string }

export function renderFormula(o: { version: string; homepage: string; assets: FormulaAsset[] }): string {
  const values: Record<string, string> = { VERSION: o.version, HOMEPAGE: o.homepage };
  for (const a of o.assets) {
    const key = a.target.toUpperCase().replace(/-/g, "_");
    values[`URL_${key}`] = a.url;
    values[`SHA256_${key}`] = a.sha256;
  }
  const text = readFileSync(join(REPO_ROOT, "packaging", "homebrew", "vmlan.rb.in"), "utf8")
    .replace(/@([A-Z0-9_]+)@/g, (whole, k: string) => values[k] ?? whole);
  const left = [...new Set(text.match(/@[A-Z0-9_]+@/g) ?? [])];
  if (left.length) throw new ReleaseError(`Formula/vmlan.rb: no value for ${left.join(", ")} (was every target built?)`);
  return text;
}
