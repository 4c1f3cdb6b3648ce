/**
 * The switch's log on stderr. Two styles: vmlan's (`vmlan switch: ...`) and socket_vmnet's level
 * prefixes (`INFO | `, `WARN | `, `ERROR| `, `DEBUG| `; log.h), which started as `socket_vmnet` keep
 * the format lima's logs and users' greps know. Debug lines only with DEBUG set (socket_vmnet) or
 * --verbose. What a client causes goes through `limited`: the first event of a kind at once, then at
 * most one summary per interval, so a hostile local user cannot flood the log; anything that came
 * from outside (paths, names) is escaped so it cannot forge a line.
 */
export type Level = "debug" | "info" | "warn" | "error";
export type LogStyle = "vmlan" | "socket_vmnet";

const PREFIX: Record<Level, string> = { debug: "DEBUG| ", info: "INFO | ", warn: "WARN | ", error: "ERROR| " };
/** Ten seconds, as the services daemon's RateLimited: one summary line per kind per interval. */
export const RATE_LIMIT_MS = 10_000;

/** Control characters, backslash and non-ASCII shown as escapes: one log line stays one line. */
export function escapeText(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else out += c <= 0xff ? `\\x${c.toString(16).padStart(2, "0")}` : `\\u{${c.toString(16)}}`;
  }
  return out;
}

export class SwitchLog {
  readonly #limits = new Map<string, { last: number; suppressed: number }>();

  constructor(
    readonly style: LogStyle,
    readonly debugOn: boolean,
    readonly write: (line: string) => void = (l) => process.stderr.write(l),
    readonly now: () => number = Date.now,
  ) {}

  line(level: Level, msg: string): void {
    if (level === "debug" && !this.debugOn) return;
    this.write(this.style === "socket_vmnet" ? `${PREFIX[level]}${msg}\n` : `vmlan switch: ${level === "info" ? "" : `${level}: `}${msg}\n`);
  }

  debug(msg: string): void { this.line("debug", msg); }
  info(msg: string): void { this.line("info", msg); }
  warn(msg: string): void { this.line("warn", msg); }
  error(msg: string): void { this.line("error", msg); }

  /**
   * A client-caused event of kind `kind`: logged at once the first time in an interval; later ones in
   * the same interval are counted and reported with the next one that is logged.
   */
  limited(level: Level, kind: string, msg: string): void {
    const t = this.now();
    const s = this.#limits.get(kind);
    if (s && t - s.last < RATE_LIMIT_MS) {
      s.suppressed++;
      return;
    }
    const more = s?.suppressed ? ` (and ${s.suppressed} more like it in the last ${Math.round((t - s.last) / 1000)} s)` : "";
    this.#limits.set(kind, { last: t, suppressed: 0 });
    this.line(level, `${msg}${more}`);
  }
}
