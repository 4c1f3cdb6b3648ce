/**
 * The counts behind npm test's closing line. The XML below is what bun 1.4.5 wrote for a file with
 * a describe block (one pass, one fail), a skip, a todo and a pass whose name needs escaping.
 */
import { expect, test } from "bun:test";
import { consoleFailCount, countJunit } from "../../scripts/test.ts";

const XML = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="bun test" tests="5" assertions="2" failures="1" skipped="2" time="0.035886151">
  <testsuite name="a.test.ts" file="a.test.ts" tests="5" assertions="2" failures="1" skipped="2" time="0.004828855" hostname="vm">
    <testsuite name="grp" file="a.test.ts" line="2" tests="2" assertions="2" failures="1" skipped="0" time="0" hostname="vm">
      <testcase name="ok" classname="grp" time="0.000041" file="a.test.ts" line="2" assertions="1" />
      <testcase name="bad" classname="grp" time="0.000129" file="a.test.ts" line="2" assertions="1">
        <failure type="AssertionError" message="expect(received).toBe(expected)&#10;">AssertionError: expect(received).toBe(expected)&#10;</failure>
      </testcase>
    </testsuite>
    <testcase name="sk" classname="" time="0" file="a.test.ts" line="3" assertions="0">
      <skipped />
    </testcase>
    <testcase name="td" classname="" time="0" file="a.test.ts" line="4" assertions="0">
      <skipped message="TODO" />
    </testcase>
    <testcase name="ok2 &lt;&amp;&gt;" classname="" time="0.000025" file="a.test.ts" line="5" assertions="0" />
  </testsuite>
</testsuites>`;

test("countJunit counts cases, failures and skips (todo counts as skipped)", () => {
  expect(countJunit(XML)).toEqual({ tests: 5, failed: 1, skipped: 2 });
  expect(countJunit("")).toEqual({ tests: 0, failed: 0, skipped: 0 });
  expect(countJunit(`<testcase name="e"><error message="x" /></testcase>`)).toEqual({ tests: 1, failed: 1, skipped: 0 });
});

test("consoleFailCount reads bun's summary, which also counts errors between tests", () => {
  const stderr = "b.test.ts:\n# Unhandled error between tests\n\n 2 pass\n 1 skip\n 2 fail\n 1 error\nRan 6 tests across 2 files.";
  expect(consoleFailCount(stderr)).toBe(2);
  expect(consoleFailCount("\x1b[31m 3 fail\x1b[0m\n")).toBe(3); // FORCE_COLOR output
  expect(consoleFailCount(" 4 pass\n")).toBe(0);
});
