/** The switch's log (src/switch/log.ts): socket_vmnet's level prefixes, escaping, and the rate limit on client-caused lines. */
import { expect, test } from "bun:test";
import { escapeText, RATE_LIMIT_MS, SwitchLog } from "../../../src/switch/log.ts";

function capture(style: "vmlan" | "socket_vmnet", debug = false) {
  const lines: string[] = [];
  let t = 1_000_000;
  const log = new SwitchLog(style, debug, (l) => lines.push(l), () => t);
  return { log, lines, advance: (ms: number) => { t += ms; } };
}

test("socket_vmnet's prefixes (log.h) and vmlan's; debug only when asked", () => {
  const s = capture("socket_vmnet");
  s.log.info("a"); s.log.warn("b"); s.log.error("c"); s.log.debug("hidden");
  expect(s.lines).toEqual(["INFO | a\n", "WARN | b\n", "ERROR| c\n"]);
  const v = capture("vmlan", true);
  v.log.info("a"); v.log.error("c"); v.log.debug("d");
  expect(v.lines).toEqual(["vmlan switch: a\n", "vmlan switch: error: c\n", "vmlan switch: debug: d\n"]);
});

test("escapeText keeps one line one line: control characters, backslashes and non-ASCII are escaped", () => {
  expect(escapeText("a\nINFO | forged\r\t\x1b[31m\\ é")).toBe("a\\nINFO | forged\\r\\t\\x1b[31m\\\\ \\xe9");
  expect(escapeText("plain /run/socket_vmnet")).toBe("plain /run/socket_vmnet");
});

test("client-caused lines: the first at once, the rest of the interval counted into the next one", () => {
  const s = capture("vmlan");
  for (let i = 0; i < 50; i++) s.log.limited("warn", "malformed", `client ${i} dropped`);
  s.log.limited("warn", "refused", "other kind"); // kinds are limited separately
  expect(s.lines).toEqual(["vmlan switch: warn: client 0 dropped\n", "vmlan switch: warn: other kind\n"]);
  s.advance(RATE_LIMIT_MS);
  s.log.limited("warn", "malformed", "client 50 dropped");
  expect(s.lines[2]).toBe("vmlan switch: warn: client 50 dropped (and 49 more like it in the last 10 s)\n");
});
