/**
 * The man pages generated from the command definitions (src/cli/help/man.ts): one per top-level
 * command plus vmlan(1); `man -l` renders each at 80 columns with every groff warning on and prints
 * none (a page with an undefined macro does print one: checked below); the
 * NAME line is what whatis/apropos read (lexgrog); every command of the map, nested ones too, and
 * every one of its options is in its page.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root } from "../../../src/cli/root.ts";
import { walkCommands } from "../../../src/cli/tree.ts";
import { helpModel } from "../../../src/cli/help/model.ts";
import { manPages, roff } from "../../../src/cli/help/man.ts";

const dir = mkdtempSync(join(tmpdir(), "vmlan-man-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const pages = await manPages(root, { version: "1.2.3", date: "2026-01-02" });
const visited = await walkCommands(root);

/** `man -l` at `width` columns with every groff warning ("w": all, unlike "all", includes undefined macros). */
function man(file: string, width: number): { text: string; warnings: string } {
  const r = Bun.spawnSync(["man", "--warnings=w", "-l", file], {
    env: { ...process.env, MANWIDTH: String(width), LANG: "C.UTF-8" }, stdout: "pipe", stderr: "pipe",
  });
  // man may format bold/underline with backspaces when it thinks it is on a terminal: drop them.
  return { text: r.stdout.toString().replace(/.\x08/g, ""), warnings: r.stderr.toString() };
}

test("vmlan(1) and one page per top-level command, named vmlan-COMMAND.1", () => {
  expect(pages.map((p) => p.file)).toEqual(["vmlan.1", ...visited.filter((v) => v.path.length === 1).map((v) => `vmlan-${v.path[0]}.1`)]);
});

for (const page of pages) {
  test(`${page.file}: renders without warnings; NAME, version and date; every command and option in it`, async () => {
    const file = join(dir, page.file);
    writeFileSync(file, page.text);
    const { warnings } = man(file, 80);
    expect({ page: page.file, warnings }).toEqual({ page: page.file, warnings: "" });
    const { text } = man(file, 200); // wide: nothing wrapped, so names and flags are found whole
    const whatis = Bun.spawnSync(["lexgrog", file], { stdout: "pipe" }).stdout.toString();
    expect(whatis).toMatch(new RegExp(`^${file.replace(/[.]/g, "\\.")}: "${page.name} - \\S`));
    expect(text).toContain("vmlan 1.2.3");
    expect(text).toContain("2026-01-02");
    const top = page.name === "vmlan" ? [] : [page.name.slice("vmlan-".length)];
    for (const v of visited.filter((x) => top.every((t, i) => x.path[i] === t) && (top.length ? x.path.length >= 1 : x.path.length === 0))) {
      const m = await helpModel(v.cmd, v.path);
      if (v.path.length > 1 && !m.commands.length) expect({ page: page.name, has: text.includes(m.title) }).toEqual({ page: page.name, has: true });
      if (m.commands.length && v.path.length > 0) continue; // a group's own page lists its leaves
      for (const o of m.options) {
        const flag = o.label.split(" ")[0]!.replace(/,$/, "");
        expect({ page: page.name, command: m.title, flag, has: text.includes(flag) }).toEqual({ page: page.name, command: m.title, flag, has: true });
      }
    }
  });
}

test("the warning check can fail: an undefined macro is reported", () => {
  const file = join(dir, "broken.1");
  writeFileSync(file, ".TH BROKEN 1\n.SH NAME\nbroken \\- a page\n.XX\n");
  expect(man(file, 80).warnings).toContain("macro 'XX' not defined");
});

test("roff escapes: minus signs, backslashes, `code` in bold; a line starting with a dot is not a request", () => {
  expect(roff("--mode a\\b `vmlan x`")).toBe("\\-\\-mode a\\eb \\fBvmlan x\\fR");
  const dotted = pages.find((p) => p.name === "vmlan")!.text.split("\n").filter((l) => /^\.[^A-Z\\]/.test(l) && !/^\.(nr|nh|ad)\b/.test(l));
  expect(dotted).toEqual([]);
});
