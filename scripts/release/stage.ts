/**
 * What every release artifact carries besides the binary, written once into a staging folder:
 * man pages (from the command definitions), shell completions (the same scripts `vmlan completion`
 * prints), LICENSE and README.md.
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { root } from "../../src/cli/root.ts";
import { manPages } from "../../src/cli/help/man.ts";
import { COMPLETION_SCRIPTS } from "../../src/cli/completion.ts";

export const REPO_ROOT = join(import.meta.dir, "..", "..");

export interface Staged {
  /** Folder with man1/*.1, completions/{vmlan,_vmlan,vmlan.fish}, LICENSE, README.md. */
  dir: string;
  manPages: string[];
}

/** Where each completion script goes, by the name its shell looks for. */
export const COMPLETION_FILES = { bash: "vmlan", zsh: "_vmlan", fish: "vmlan.fish" } as const;

export async function stageShared(dir: string, o: { version: string; date: string }): Promise<Staged> {
  mkdirSync(join(dir, "man1"), { recursive: true });
  mkdirSync(join(dir, "completions"), { recursive: true });
  const pages = await manPages(root, o);
  for (const p of pages) writeFileSync(join(dir, "man1", p.file), p.text);
  for (const [shell, file] of Object.entries(COMPLETION_FILES)) {
    writeFileSync(join(dir, "completions", file), COMPLETION_SCRIPTS[shell as keyof typeof COMPLETION_FILES]());
  }
  for (const f of ["LICENSE", "README.md"]) copyFileSync(join(REPO_ROOT, f), join(dir, f));
  return { dir, manPages: pages.map((p) => p.file) };
}
