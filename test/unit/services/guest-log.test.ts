/**
 * The services log (issue #12 item 5): nothing taken from a packet can forge a line, and every
 * guest-triggered line is rate-limited with a summary of what was held back.
 */
import { describe, expect, test } from "bun:test";
import { GuestLog, logger } from "../../../src/services/log.ts";
import { DhcpParseError, parseDhcp } from "../../../src/services/dhcp/wire.ts";
import { buildRequest } from "./dhcp-packets.ts";

describe("logger", () => {
  test("a message with newlines and escape sequences is one escaped line", () => {
    const out: string[] = [];
    logger("dns[x]", (s) => out.push(s))("no upstream answered for evil\n2030-01-01T00:00:00.000Z services: forged\x1b[31m.example");
    expect(out).toHaveLength(1);
    expect(out[0]!.split("\n")).toHaveLength(2); // the line and the empty rest after its own newline
    expect(out[0]).toContain("evil\\n2030-01-01T00:00:00.000Z services: forged\\x1b[31m.example");
  });
});

describe("GuestLog", () => {
  const setup = () => {
    const lines: string[] = [];
    let now = 0;
    const g = new GuestLog((m) => lines.push(m), { burst: 3, intervalMs: 10_000, now: () => now, timer: false });
    return { lines, g, at: (t: number) => { now = t; } };
  };

  test("per kind: the first lines of an interval are shown, the rest counted; the next interval starts with a summary", () => {
    const { lines, g, at } = setup();
    for (let i = 0; i < 10; i++) g.line("DISCOVER", `DISCOVER ${i}`);
    g.line("REQUEST", "REQUEST 0");
    expect(lines).toEqual(["DISCOVER 0", "DISCOVER 1", "DISCOVER 2", "REQUEST 0"]);
    at(10_000);
    g.line("DISCOVER", "DISCOVER 10");
    expect(lines.slice(4)).toEqual(["7 more DISCOVER lines in the last 10 s (latest: DISCOVER 9)", "DISCOVER 10"]);
  });

  test("the same line twice within the interval is shown once", () => {
    const { lines, g } = setup();
    g.line("DISCOVER", "same");
    g.line("DISCOVER", "same");
    expect(lines).toEqual(["same"]);
  });

  test("flush() summarises what a finished interval held back even when nothing else comes", () => {
    const { lines, g, at } = setup();
    for (let i = 0; i < 5; i++) g.line("query", `q${i}`);
    at(9_000);
    g.flush();
    expect(lines).toHaveLength(3);
    at(10_500);
    g.flush();
    expect(lines[3]).toBe("2 more query lines in the last 11 s (latest: q4)");
    g.flush();
    expect(lines).toHaveLength(4);
  });

  test("the summary timer runs only while an interval is open (an idle server has none) and still writes the summary", async () => {
    const lines: string[] = [];
    const g = new GuestLog((m) => lines.push(m), { burst: 1, intervalMs: 100 });
    expect(g.timed).toBe(false);
    g.line("query", "q0");
    g.line("query", "q1");
    expect(g.timed).toBe(true);
    await Bun.sleep(1_300);
    expect(lines).toEqual(["q0", "1 more query lines in the last 1 s (latest: q1)"]);
    expect(g.timed).toBe(false);
    g.stop();
  });

  test("memory is bounded: the remembered lines are capped", () => {
    const { g } = setup();
    for (let i = 0; i < 100_000; i++) g.line("DISCOVER", `DISCOVER from mac ${i}`);
    expect(g.remembered).toBeLessThanOrEqual(1024);
  });
});

test("DHCP packets from a multicast, broadcast or zero chaddr are malformed, not clients", () => {
  for (const mac of ["00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01", "33:33:00:00:00:01"]) {
    expect(() => parseDhcp(buildRequest({ type: 1, mac }))).toThrow(DhcpParseError);
  }
  expect(parseDhcp(buildRequest({ type: 1, mac: "02:00:00:00:00:01" })).chaddr).toBe("02:00:00:00:00:01");
});
