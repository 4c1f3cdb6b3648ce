import { expect, test } from "bun:test";
import { Counters, createStatsBuffer, localTimestamp, statsLine } from "../../../src/datapath/stats.ts";

test("vmnet-helper's stats line: INFO  [stats], local time with ms and offset, host/vm endpoints with its keys first", () => {
  const sab = createStatsBuffer();
  new Counters(sab, "host_to_vm").addBatch(3, 300, 1, 0, 2); // 4 frames taken, 3 delivered, 2 retries
  new Counters(sab, "vm_to_host").addBatch(5, 500, 0, 0, 0);
  new Counters(sab, "vm_to_host").add("malformed", 4);
  const at = new Date(Date.UTC(2026, 11, 1, 10, 20, 30, 456));
  const line = statsLine(sab, at);
  expect(line).toStartWith(`INFO  [stats] {"time": "${localTimestamp(at)}", "host": {"packets": 3, "bytes": 300, "drops": 1, "fast": 3, "slow": 0, "malformed": 0, "retries": 2}, `);
  const s = JSON.parse(line.slice(line.indexOf("{")));
  expect(s.vm).toEqual({ packets: 5, bytes: 500, drops: 0, fast: 1, slow: 0, malformed: 4, retries: 0 });
});

test("the timestamp is ISO 8601 with milliseconds and the local offset, and names the same instant", () => {
  const d = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6));
  const t = localTimestamp(d);
  expect(t).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
  expect(new Date(t).getTime()).toBe(d.getTime());
});
