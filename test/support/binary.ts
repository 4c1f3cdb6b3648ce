/**
 * The compiled vmlan binary, as tests and benchmarks run it. Behaviour is tested at the process
 * boundary (STYLE habit 15), so tests use dist/vmlan, never `bun src/main.ts`.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";

const DEFAULT_BIN = join(import.meta.dir, "..", "..", "dist", "vmlan");

/** Absolute path of the binary: $VMLAN_BIN (set by scripts/test.ts), else dist/vmlan. */
export function vmlanBin(): string {
  const fromEnv = process.env.VMLAN_BIN;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`VMLAN_BIN=${fromEnv} does not exist; run \`npm run build -- --host\``);
    return fromEnv;
  }
  if (existsSync(DEFAULT_BIN)) return DEFAULT_BIN;
  throw new Error(`no compiled vmlan at ${DEFAULT_BIN}; run \`npm run build -- --host\` (npm test does it for you)`);
}

export type RunOptions = {
  /** Required so no test can touch the real state dir by accident. Other VMLAN_* come only from here. */
  env: { VMLAN_STATE_DIR: string } & Record<string, string>;
  /** Run inside this network namespace (`ip netns exec <ns>`). */
  netns?: string;
  /** Argv prefix run before the binary (inside the namespace), e.g. setpriv to drop capabilities. */
  wrap?: string[];
  /** Text for stdin; without it stdin is closed, so nothing waits on a terminal. */
  stdin?: string;
  /** Kill the process after this many ms (default 30 s; bunfig's per-test timeout is 60 s). */
  timeoutMs?: number;
};

export type RunResult = { exitCode: number; stdout: string; stderr: string };

/** The parent's environment minus VMLAN_*, so a developer's shell settings cannot leak into tests. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("VMLAN_")) env[k] = v;
  }
  return env;
}

export async function runVmlan(args: string[], opts: RunOptions): Promise<RunResult> {
  if (!opts.env.VMLAN_STATE_DIR) throw new Error("runVmlan: env.VMLAN_STATE_DIR is required");
  const bin = [...(opts.wrap ?? []), vmlanBin(), ...args];
  const cmd = opts.netns ? ["ip", "netns", "exec", opts.netns, ...bin] : bin;
  const proc = Bun.spawn(cmd, {
    env: { ...baseEnv(), ...opts.env },
    stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
    timeout: opts.timeoutMs ?? 30_000,
  });
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { exitCode, stdout, stderr };
}
