import { VERSION, COMMIT, TARGET } from "../build-info.ts";
import { writeOut } from "../process/write-line.ts";

/** The argument lists the fast path answers; anything else goes through the full runner, which names what is wrong. */
const FAST = new Set(["", "--json", "--format json", "--format=json", "--format table", "--format=table"]);
export const fastVersionArgs = (args: string[]): boolean => FAST.has(args.join(" "));

/** `vmlan version [--format json|--json]`: no dependencies, no native libraries. */
export function printVersion(args: string[]): void {
  const json = args.includes("--json") || args.join(" ").includes("--format json") || args.includes("--format=json");
  const info = { version: VERSION, commit: COMMIT, target: TARGET, bun: Bun.version };
  // write(2): the first process.stdout.write loads node:stream, most of this command's time.
  writeOut(1, json ? `${JSON.stringify(info)}\n` : `vmlan ${VERSION} (${COMMIT}, ${TARGET}, bun ${Bun.version})\n`);
}
