import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { escapeControl } from "../../../src/core/text.ts";
import { issueText } from "../../../src/core/issues.ts";

describe("escapeControl", () => {
  test("controls, DEL, C1, line separators and bidi overrides are escaped; other text is kept", () => {
    expect(escapeControl("a\nb\r\tc\x1b[31m\x00\x7f\x85")).toBe("a\\nb\\r\\tc\\x1b[31m\\x00\\x7f\\x85");
    expect(escapeControl("x\u2028y\u202ez\u2066")).toBe("x\\u2028y\\u202ez\\u2066");
    expect(escapeControl("grüße, 日本, \\n")).toBe("grüße, 日本, \\n");
  });
});

describe("issueText", () => {
  test("valibot's default messages become `invalid <field> \"<value>\": expected ...`; custom ones are kept", () => {
    const S = v.object({ mtu: v.pipe(v.number(), v.minValue(576)), name: v.pipe(v.string(), v.check(() => false, "invalid name: mine")) });
    const r1 = v.safeParse(S, { mtu: 0, name: "x" });
    expect(r1.success).toBe(false);
    expect(r1.issues!.map(issueText)).toEqual([`invalid mtu "0": expected >=576`, "invalid name: mine"]);
  });
});
