/**
 * Import-graph checks for test/architecture.test.ts (STYLE habit 1 and §9.1). Reads src/ and ffi/
 * under a root with Bun.Transpiler#scanImports, which drops type-only imports and tells static from
 * dynamic ones. Takes the root as a parameter so the test can also run it on a fixture tree.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

export const MAX_LINES = 300;
const SCANNED_DIRS = ["src", "ffi"];

export type Edge = { from: string; spec: string; to: string; dynamic: boolean };
export type Rule = { name: string; why: string; applies: (from: string) => boolean; forbids: (e: Edge) => boolean };

const under = (prefix: string) => (p: string) => p.startsWith(prefix);
const isPlatformOs = (p: string) => p.startsWith("src/platform/linux/") || p.startsWith("src/platform/darwin/");
const isFfi = (p: string) => p.startsWith("ffi/") || p === "bun:ffi";

/** Paths are relative to the root with "/" separators; "bun:ffi" and packages keep their spec. */
export const RULES: Rule[] = [
  {
    name: "core is pure",
    why: "src/core imports nothing from src/platform (except src/platform/types.ts), src/cli, src/services, ffi/ or bun:ffi",
    applies: under("src/core/"),
    forbids: (e) => (e.to.startsWith("src/platform/") && e.to !== "src/platform/types.ts") || e.to.startsWith("src/cli/") || e.to.startsWith("src/services/") || isFfi(e.to),
  },
  {
    name: "ffi is raw bindings",
    why: "ffi/ imports nothing from src/ except src/core/errors.ts",
    applies: under("ffi/"),
    forbids: (e) => e.to.startsWith("src/") && e.to !== "src/core/errors.ts",
  },
  {
    name: "cli loads OS code lazily",
    why: "src/cli never statically imports src/platform/linux|darwin, src/platform/index.ts, ffi/ or bun:ffi",
    applies: under("src/cli/"),
    forbids: (e) => !e.dynamic && (isPlatformOs(e.to) || isFfi(e.to) || e.to === "src/platform/index.ts"),
  },
  {
    name: "cni loads OS code lazily",
    why: "src/cni (plugin mode) never statically imports src/platform/linux|darwin, src/platform/index.ts, ffi/ or bun:ffi",
    applies: under("src/cni/"),
    forbids: (e) => !e.dynamic && (isPlatformOs(e.to) || isFfi(e.to) || e.to === "src/platform/index.ts"),
  },
  {
    name: "command map is lazy",
    why: "src/cli/commands/index.ts contains only dynamic imports",
    applies: (f) => f === "src/cli/commands/index.ts",
    forbids: (e) => !e.dynamic,
  },
  {
    name: "main keeps fast paths fast",
    why: "src/main.ts imports src/cli/run.ts only dynamically, and never platform/ or ffi/ statically",
    applies: (f) => f === "src/main.ts",
    forbids: (e) => !e.dynamic && (e.to === "src/cli/run.ts" || e.to.startsWith("src/platform/") || isFfi(e.to)),
  },
  {
    name: "one platform switch",
    why: "only src/cli and src/cni (the composition roots) import src/platform/index.ts",
    applies: (f) => !f.startsWith("src/cli/") && !f.startsWith("src/cni/") && f !== "src/platform/index.ts",
    forbids: (e) => e.to === "src/platform/index.ts",
  },
  {
    name: "each OS in its own folder",
    why: "src/platform/linux and src/platform/darwin never import each other",
    applies: isPlatformOs,
    forbids: (e) => isPlatformOs(e.to) && e.to.split("/")[2] !== e.from.split("/")[2],
  },
];

export type Tree = { files: Map<string, string>; edges: Edge[] };

/** Every .ts file under src/ and ffi/ (absent folders are fine) with its resolved imports. */
export function scanTree(root: string): Tree {
  const files = new Map<string, string>();
  for (const dir of SCANNED_DIRS) {
    if (!existsSync(join(root, dir))) continue;
    for (const rel of new Bun.Glob("**/*.ts").scanSync({ cwd: join(root, dir) })) {
      const path = `${dir}/${rel.split("\\").join("/")}`;
      files.set(path, readFileSync(join(root, path), "utf8"));
    }
  }
  const transpiler = new Bun.Transpiler({ loader: "ts" });
  const edges: Edge[] = [];
  for (const [from, text] of files) {
    let imports: { path: string; kind: string }[];
    try {
      imports = transpiler.scanImports(text);
    } catch (e) {
      throw new Error(`${from}: cannot be parsed for imports: ${(e as Error).message}`);
    }
    for (const imp of imports) {
      edges.push({ from, spec: imp.path, to: resolveSpec(root, from, imp.path, files), dynamic: imp.kind === "dynamic-import" });
    }
  }
  return { files, edges };
}

/** "./x", "./x.ts" and "./dir" (index.ts) resolve to a root-relative path; other specs stay as written. */
function resolveSpec(root: string, from: string, spec: string, files: Map<string, string>): string {
  if (!spec.startsWith(".")) return spec;
  const base = relative(root, normalize(join(root, dirname(from), spec))).split("\\").join("/");
  for (const candidate of [base, `${base}.ts`, `${base}/index.ts`]) if (files.has(candidate)) return candidate;
  return base;
}

export function importViolations(tree: Tree, rules: Rule[] = RULES): string[] {
  const out: string[] = [];
  for (const e of tree.edges) {
    for (const rule of rules) {
      if (rule.applies(e.from) && rule.forbids(e)) {
        const kind = e.dynamic ? "dynamic" : "static";
        const target = e.to === e.spec ? "" : ` (${e.to})`;
        out.push(`${e.from}: ${kind} import "${e.spec}"${target} breaks "${rule.name}": ${rule.why}`);
      }
    }
  }
  return out;
}

/** Cycles over static imports; a dynamic import runs later, so it cannot deadlock module evaluation. */
export function importCycles(tree: Tree): string[] {
  const next = new Map<string, string[]>();
  for (const e of tree.edges) {
    if (!e.dynamic && tree.files.has(e.to)) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  }
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const seen = new Set<string>();
  const out: string[] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    stack.push(file);
    for (const to of next.get(file) ?? []) {
      if (state.get(to) === "open") {
        const cycle = stack.slice(stack.indexOf(to));
        const key = [...cycle].sort().join(" ");
        if (!seen.has(key)) {
          seen.add(key);
          out.push(`import cycle: ${[...cycle, to].join(" -> ")}`);
        }
      } else if (!state.has(to)) visit(to);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of [...tree.files.keys()].sort()) if (!state.has(file)) visit(file);
  return out;
}

export function oversizedFiles(tree: Tree, max = MAX_LINES): string[] {
  const out: string[] = [];
  for (const [file, text] of tree.files) {
    const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
    if (lines > max) out.push(`${file}: ${lines} lines, over the ${max}-line limit; split it by concern`);
  }
  return out;
}

/** What loading `roots` loads before any of their dynamic imports run: the files and the modules ("node:fs", ...) of their static imports, with the file that first imports each. */
export function staticallyLoaded(tree: Tree, roots: string[]): Map<string, string> {
  const by = new Map<string, string>();
  const todo = [...roots];
  for (let file = todo.pop(); file !== undefined; file = todo.pop()) {
    for (const e of tree.edges) {
      if (e.from !== file || e.dynamic || by.has(e.to)) continue;
      by.set(e.to, file);
      if (tree.files.has(e.to)) todo.push(e.to);
    }
  }
  return by;
}
