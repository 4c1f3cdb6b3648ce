import { formatFrom, printJson } from "../../output.ts";
import type { ItemResult } from "../../../core/networks.ts";

/** Prints per-network results of start/stop; sets a failing exit code when any failed. */
export function printResults(results: ItemResult[], args: { format?: string; json?: boolean }): void {
  if (formatFrom(args) === "json") {
    printJson(results.map((r) => ({ name: r.name, ok: r.ok, state: r.outcome, error: r.error?.message })));
  } else {
    for (const r of results) {
      if (r.ok) process.stdout.write(`${r.name}: ${r.outcome}\n`);
      else process.stderr.write(`error: ${r.name}: ${r.error!.message}\n`);
    }
  }
  const failed = results.find((r) => !r.ok);
  if (failed) process.exitCode = failed.error!.exitCode;
}
