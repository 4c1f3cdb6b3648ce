/** Child processes for the release script: a failure is an error with the command and its output. */
export class ReleaseError extends Error {}

export function run(argv: string[], o: { cwd?: string; env?: Record<string, string | undefined> } = {}): string {
  const r = Bun.spawnSync(argv, { cwd: o.cwd, env: o.env ?? process.env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) {
    throw new ReleaseError(`${argv.join(" ")} failed (exit ${r.exitCode}):\n${r.stdout.toString()}${r.stderr.toString()}`.trimEnd());
  }
  return r.stdout.toString();
}

/** A bash pipeline in the background (pipefail: any stage failing fails it); resolves when done. */
export async function pipeline(script: string, cwd: string): Promise<void> {
  const p = Bun.spawn(["bash", "-o", "pipefail", "-c", script], { cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  if (code !== 0) throw new ReleaseError(`${script} failed (exit ${code}):\n${out}${err}`.trimEnd());
}

export function need(command: string, why: string, install: string): void {
  if (!Bun.which(command, { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` })) throw new ReleaseError(`${command} not found (${why}); install it: ${install}`);
}
