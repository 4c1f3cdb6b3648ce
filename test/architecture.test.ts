/**
 * The tree is the architecture (STYLE habit 1, rules in §9.1 and test/support/architecture.ts).
 * Passes on an empty or partial tree; each failure names the file, the import and the rule.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { importCycles, importViolations, MAX_LINES, oversizedFiles, scanTree, staticallyLoaded } from "./support/architecture.ts";

function expectNone(problems: string[]): void {
  if (problems.length > 0) throw new Error(`${problems.length} architecture problem(s):\n  ${problems.join("\n  ")}`);
}

describe("this repository", () => {
  const tree = scanTree(join(import.meta.dir, ".."));
  test("imports follow the allowed directions", () => expectNone(importViolations(tree)));
  test("static imports have no cycles", () => expectNone(importCycles(tree)));
  test(`no .ts file in src/ or ffi/ is over ${MAX_LINES} lines`, () => expectNone(oversizedFiles(tree)));
  // Each costs 0.2-0.8 ms to load in the compiled binary (bench helper): loaded with the datapath, while the daemon works, not before.
  test("a helper loads no node:fs, node:path or node:os before its request to the services daemon goes out", () => {
    const loaded = staticallyLoaded(tree, ["src/main.ts", "src/cli/helper-fast.ts", "src/cli/commands/_helper-args.ts", "src/cli/helper-service/run.ts"]);
    expectNone([...loaded].filter(([m]) => /^(node:)?(fs|path|os)$/.test(m)).map(([m, by]) => `${by} loads ${m}`));
  });
});

// The checker itself, on a fixture tree, so a green run above cannot come from a checker that sees nothing.
describe("the checker", () => {
  const root = mkdtempSync(join(tmpdir(), "vmlan-arch-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };

  test("passes on an empty tree", () => {
    const tree = scanTree(root);
    expect([...importViolations(tree), ...importCycles(tree), ...oversizedFiles(tree)]).toEqual([]);
  });

  test("names the file, the import and the rule", () => {
    write("src/platform/types.ts", "export type Platform = {};\nexport const NONE = 0;\n");
    write("src/platform/index.ts", "export const load = () => 1;\n");
    write("src/platform/linux/bridge.ts", `import { darwin } from "../darwin/vmnet.ts";\nexport const b = darwin;\n`);
    write("src/platform/darwin/vmnet.ts", "export const darwin = 1;\n");
    write("src/core/errors.ts", "export class VmlanError extends Error {}\n");
    write(
      "src/core/networks.ts",
      [
        `import type { Platform } from "../platform/types.ts";`, // type-only: ignored
        `import { NONE } from "../platform/types.ts";`, // allowed
        `import { b } from "../platform/linux/bridge";`,
        `import { dlopen } from "bun:ffi";`,
        `export const x = async (p: Platform) => [NONE, b, dlopen, await import("../cli/run.ts")];`,
      ].join("\n"),
    );
    write("ffi/libc/load.ts", `import { VmlanError } from "../../src/core/errors.ts";\nimport { x } from "../../src/core/networks.ts";\nexport const y = [VmlanError, x];\n`);
    write("src/cli/run.ts", `import { b } from "../platform/linux/bridge.ts";\nexport const lazy = () => import("../platform/linux/bridge.ts");\nexport const r = b;\n`);
    write("src/cli/commands/index.ts", `import { r } from "../run.ts";\nexport const commands = { run: () => import("../run.ts"), r };\n`);
    write("src/main.ts", `import { r } from "./cli/run.ts";\nimport { load } from "./platform/index.ts";\nconsole.log(r, load);\n`);

    const problems = importViolations(scanTree(root));
    const expected = [
      `src/core/networks.ts: static import "../platform/linux/bridge" (src/platform/linux/bridge.ts) breaks "core is pure"`,
      `src/core/networks.ts: static import "bun:ffi" breaks "core is pure"`,
      `src/core/networks.ts: dynamic import "../cli/run.ts" (src/cli/run.ts) breaks "core is pure"`,
      `ffi/libc/load.ts: static import "../../src/core/networks.ts" (src/core/networks.ts) breaks "ffi is raw bindings"`,
      `src/cli/run.ts: static import "../platform/linux/bridge.ts" (src/platform/linux/bridge.ts) breaks "cli loads OS code lazily"`,
      `src/cli/commands/index.ts: static import "../run.ts" (src/cli/run.ts) breaks "command map is lazy"`,
      `src/main.ts: static import "./cli/run.ts" (src/cli/run.ts) breaks "main keeps fast paths fast"`,
      `src/main.ts: static import "./platform/index.ts" (src/platform/index.ts) breaks "one platform switch"`,
      `src/platform/linux/bridge.ts: static import "../darwin/vmnet.ts" (src/platform/darwin/vmnet.ts) breaks "each OS in its own folder"`,
    ];
    for (const line of expected) expect(problems.some((p) => p.startsWith(line))).toBe(true);
    // Nothing else: allowed imports (platform/types.ts, core/errors.ts, lazy OS code in cli) stay quiet.
    expect(problems.length).toBe(expected.length + 1); // + main.ts's platform/index import under "main keeps fast paths fast"
  });

  test("finds cycles over static imports only", () => {
    write("src/core/a.ts", `import { b } from "./b.ts";\nexport const a = b;\n`);
    write("src/core/b.ts", `import { c } from "./c.ts";\nexport const b = 1;\nexport const lazyA = () => import("./a.ts");\n`);
    write("src/core/c.ts", `import { a } from "./a.ts";\nexport const c = () => a;\n`);
    write("src/core/d.ts", `export const d = () => import("./e.ts");\n`);
    write("src/core/e.ts", `import { d } from "./d.ts";\nexport const e = d;\n`);
    expect(importCycles(scanTree(root))).toEqual(["import cycle: src/core/a.ts -> src/core/b.ts -> src/core/c.ts -> src/core/a.ts"]);
  });

  test("flags files over the line limit", () => {
    const lines = (n: number) => Array.from({ length: n }, (_, i) => `export const n${i} = ${i};\n`).join("");
    write("ffi/big.ts", lines(MAX_LINES + 1));
    write("ffi/ok.ts", lines(MAX_LINES));
    expect(oversizedFiles(scanTree(root))).toEqual([`ffi/big.ts: ${MAX_LINES + 1} lines, over the ${MAX_LINES}-line limit; split it by concern`]);
  });
});
