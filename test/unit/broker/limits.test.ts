import { expect, test } from "bun:test";
import { Usage } from "../../../src/broker/limits.ts";

test("usage is counted per connection and summed per uid; the refusal names the limit that was hit", () => {
  const u = new Usage();
  u.connect(1, 1000);
  u.connect(2, 1000);
  u.connect(3, 2000);
  u.add(1, 2);
  u.add(2, 1);
  expect(u.refusal(1, "TAPs", 2, 10)).toBe("this connection already holds 2 TAPs (the limit is 2 per connection)");
  expect(u.refusal(2, "TAPs", 2, 3)).toBe("uid 1000 already holds 3 TAPs (the limit is 3 per user)");
  expect(u.refusal(3, "TAPs", 2, 3)).toBeNull(); // another user
  u.add(1, -5); // never below zero
  expect(u.of(1)).toBe(0);
  u.disconnect(2);
  expect(u.ofUser(1000)).toBe(0);
});
