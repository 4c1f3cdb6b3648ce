/**
 * Help that reads well in 80 columns, for every command of the command map (nested groups too, so
 * a command added anywhere is covered without touching this file): a one-line summary in its
 * parent's list, examples that name real flags of that very command, text wrapped to 80 columns;
 * and the compiled binary's `--help` and `vmlan help` for each of them within 100 columns.
 */
import { describe, expect, test } from "bun:test";
import type { ArgsDef } from "citty";
import { root } from "../../../src/cli/root.ts";
import { resolve, resolveChain, walkCommands } from "../../../src/cli/tree.ts";
import { helpModel } from "../../../src/cli/help/model.ts";
import { columns, HELP_WIDTH, renderHelp } from "../../../src/cli/help/render.ts";
import { parseBlocks, shellWords, splitExample, wrap, wrapCommand } from "../../../src/cli/help/text.ts";
import { checkFlags } from "../../../src/cli/flags.ts";
import { runVmlan } from "../../support/binary.ts";

const visited = await walkCommands(root);
const name = (path: string[]) => ["vmlan", ...path].join(" ");

/** The vmlan invocations of an example: split at pipes and `&&`, redirections and quotes removed. */
function invocations(command: string): string[][] {
  const words = shellWords(command);
  const out: string[][] = [];
  let cur: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === "|" || w === "&&" || w === ";") { out.push(cur); cur = []; continue; }
    if (/^\d?[<>]/.test(w)) { if (/^\d?[<>]+$/.test(w)) i++; continue; } // "> file", "<file", "2>&1"
    cur.push(w.replace(/^'(.*)'$/, "$1").replace(/^"(.*)"$/, "$1"));
  }
  out.push(cur);
  return out.filter((c) => c[0] === "vmlan");
}

describe("every command's help", () => {
  test("the walk finds the nested commands (vm image build, network list) and no hidden one", () => {
    const names = visited.map((v) => name(v.path));
    expect(names).toContain("vmlan vm image build");
    expect(names).toContain("vmlan network list");
    expect(names.some((n) => n.includes("_vz-host"))).toBe(false);
  });

  for (const { path, cmd, meta } of visited) {
    test(`${name(path)}: summary, examples, 80 columns`, async () => {
      const m = await helpModel(cmd, path);
      expect(m.summary.length).toBeGreaterThan(0);
      expect(m.examples.length).toBeGreaterThan(0);
      const text = renderHelp(m);
      const tooWide = text.split("\n").filter((l) => l.length > HELP_WIDTH || /\s$/.test(l));
      expect({ command: name(path), tooWide }).toEqual({ command: name(path), tooWide: [] });
      // Each sub-command's summary is one line in this command's list.
      for (const sub of m.commands) {
        const rows = columns(m.commands.map((c) => ({ label: [c.name, ...c.aliases].join(", "), description: c.summary })), HELP_WIDTH);
        expect({ sub: sub.name, rows: rows.length }).toEqual({ sub: sub.name, rows: m.commands.length });
      }
      expect(meta.description).toBe(m.summary);
    });

    test(`${name(path)}: every example runs this command with flags it has`, async () => {
      const m = await helpModel(cmd, path);
      for (const example of m.examples) {
        const calls = invocations(splitExample(example).command);
        expect({ example, calls: calls.length > 0 }).toEqual({ example, calls: true });
        for (const argv of calls) {
          const chain = await resolveChain(root, argv.slice(1));
          expect({ example, runs: Boolean(chain.cmd.run) }).toEqual({ example, runs: true });
          // A leaf's examples are of that leaf; a group's (and vmlan's) may show any command.
          if (!m.commands.length && path.length) expect({ example, path: chain.path }).toEqual({ example, path });
          const args = (await resolve(chain.cmd.args ?? {})) as ArgsDef;
          expect(() => checkFlags(args, chain.rest, chain.path.join(" "))).not.toThrow();
        }
      }
    });
  }
});

describe("the renderer", () => {
  test("descriptions wrap under their column; a label too wide for the column gets its own line", () => {
    const rows = columns([
      { label: "--mtu N", description: "word ".repeat(30).trim() },
      { label: "--a-very-long-option-name VALUE", description: "short" },
    ], 40);
    expect(rows[0]).toBe("  --mtu N  word word word word word word");
    expect(rows[1]).toBe("           word word word word word word");
    expect(rows).toContain("  --a-very-long-option-name VALUE");
    expect(rows.at(-1)).toBe("           short");
    expect(rows.every((r) => r.length <= 40 && !/\s$/.test(r))).toBe(true);
  });

  test("no row is padded to the longest description (the old citty bug)", async () => {
    const text = renderHelp(await helpModel(root, []));
    expect(text.split("\n").filter((l) => / $/.test(l))).toEqual([]);
    expect(text).toContain("\n  network      Create, list, inspect and remove networks\n");
  });

  test("examples: one line with the comment when it fits, else the comment above and a continued command", () => {
    expect(splitExample("vmlan x --y  # does z")).toEqual({ command: "vmlan x --y", comment: "does z" });
    expect(wrapCommand(`vmlan vm run --network lab --exec "ping -c 1 web" --poweroff`, 40, "  ")).toEqual([
      "  vmlan vm run --network lab --exec \\",
      `      "ping -c 1 web" --poweroff`,
    ]);
  });

  test("text blocks: paragraphs re-wrapped, indented lines kept, list items with a hanging indent", () => {
    expect(parseBlocks("a\nb\n\n  x  y\n  z\n\n- one\n  more\n- two")).toEqual([
      { kind: "text", text: "a b" },
      { kind: "pre", lines: ["x  y", "z"] },
      { kind: "list", items: ["one more", "two"] },
    ]);
    expect(wrap("aa bb cc", 5, "- ", "  ")).toEqual(["- aa", "  bb", "  cc"]);
  });
});

describe("the compiled binary", () => {
  const env = { VMLAN_STATE_DIR: "/nonexistent-vmlan-state" };
  test("`vmlan --help`, every `COMMAND --help` and `vmlan help COMMAND`: exit 0, the same text, within 100 columns", async () => {
    for (const { path, meta } of visited) {
      const r = await runVmlan([...path, "--help"], { env });
      const wide = r.stdout.split("\n").filter((l) => l.length > 100);
      expect({ path, code: r.exitCode, wide, first: r.stdout.split("\n")[0] }).toEqual({
        path, code: 0, wide: [], first: path.length ? meta.description! : expect.stringContaining(meta.description!),
      });
      const viaHelp = await runVmlan(["help", ...path], { env });
      expect({ path, same: viaHelp.stdout === r.stdout, code: viaHelp.exitCode }).toEqual({ path, same: true, code: 0 });
    }
  }, 60_000);

  test("`vmlan help` of an unknown command: one error line, exit 2", async () => {
    const r = await runVmlan(["help", "network", "nope"], { env });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(`error: unknown command "vmlan network nope"; see vmlan --help\n`);
  });
});
