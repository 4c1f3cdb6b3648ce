/** The one report every bench prints (scripts/bench-report.ts): tables for people, one JSON object for programs. */
import { expect, test } from "bun:test";
import { ratio, renderReport, renderTable, reportJson, summarize, type Report } from "../../scripts/bench-report.ts";

const report: Report = {
  bench: "demo",
  inputs: { runs: 3, sizes: [1, 100] },
  medians: { "list ms by networks": { "1": 10.5, "100": 12 }, "version ms": 9.25 },
  ratios: { "list, 100 vs 1 networks": ratio(12, 10.5) },
  tables: [{ title: "list", head: ["command", "1", "100"], rows: [["list", 10.5, 12], ["missing", null, 3]], note: "median ms" }],
  detail: [{ raw: true }],
};

test("JSON is one object with inputs, medians and ratios, and no tables", () => {
  const parsed = JSON.parse(reportJson(report));
  expect(Object.keys(parsed)).toEqual(["bench", "inputs", "medians", "ratios", "detail"]);
  expect(parsed.medians["list ms by networks"]["100"]).toBe(12);
  expect(parsed.ratios["list, 100 vs 1 networks"]).toBe(1.14);
});

test("tables align columns, show missing values as '-', and list ratios and inputs", () => {
  expect(renderTable(report.tables[0]!)).toBe(["list", "command     1  100", "list     10.5   12", "missing     -    3", "median ms"].join("\n"));
  const text = renderReport(report);
  expect(text).toContain("ratios:\n  list, 100 vs 1 networks: 1.14");
  expect(text).toContain("inputs: runs=3 sizes=1,100");
});

test("a ratio with a missing or zero denominator is null, never Infinity or NaN", () => {
  expect(ratio(5, 0)).toBeNull();
  expect(ratio(null, 2)).toBeNull();
  expect(ratio(5, undefined)).toBeNull();
  expect(ratio(Number.NaN, 2)).toBeNull();
  expect(ratio(3, 2)).toBe(1.5);
});

test("summaries are medians and the 10th/90th percentiles, rounded to 2 decimals", () => {
  expect(summarize("x", [5, 1, 3, 2, 4])).toEqual({ name: "x", runs: 5, median: 3, p10: 1.4, p90: 4.6 });
});
