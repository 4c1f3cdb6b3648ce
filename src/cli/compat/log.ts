/**
 * vmnet-helper's log lines on stderr (programs/log.h): a level padded to five characters, then the
 * component in brackets: `INFO  [main] ...`, `ERROR [runner] ...`. DEBUG lines only with -v.
 * Tools that keep vmnet-helper's log (minikube's vmnet-helper.log) and its stats parsers read ours.
 */
import { writeOut } from "../../process/write-line.ts";

export interface CompatLog {
  info(line: string): void;
  warn(line: string): void;
  error(line: string): void;
  debug(line: string): void;
}

const write = (level: string, tag: string | null, line: string) =>
  writeOut(2, `${level.padEnd(5)} ${tag ? `[${tag}] ` : ""}${line}\n`);

/** Lines tagged `[tag]`; a null tag writes bare lines, as vmnet-helper's option errors are. */
export function compatLog(tag: string | null, verbose: boolean): CompatLog {
  return {
    info: (l) => write("INFO", tag, l),
    warn: (l) => write("WARN", tag, l),
    error: (l) => write("ERROR", tag, l),
    debug: verbose ? (l) => write("DEBUG", tag, l) : () => {},
  };
}

/** `vmlan helper`'s own lines: `vmlan helper: ...`, debug ones only with -v. */
export function vmlanLog(verbose: boolean): CompatLog {
  const w = (l: string) => writeOut(2, `vmlan helper: ${l}\n`);
  return { info: w, warn: w, error: (l) => w(`error: ${l}`), debug: verbose ? w : () => {} };
}
