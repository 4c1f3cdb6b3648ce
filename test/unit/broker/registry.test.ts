import { expect, test } from "bun:test";
import { Registry, type Clock } from "../../../src/broker/registry.ts";

/** A clock the test moves by hand. */
function manualClock() {
  let now = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let next = 1;
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => (timers.set(next, { at: now + ms, fn }), next++),
    clearTimeout: (h) => void timers.delete(h as number),
  };
  const advance = (ms: number) => {
    now += ms;
    for (const [id, t] of [...timers]) if (t.at <= now) (timers.delete(id), t.fn());
  };
  return { clock, advance };
}

function setup() {
  const events: string[] = [];
  const { clock, advance } = manualClock();
  const r = new Registry(120_000, { up: (n) => void events.push(`up ${n}`), down: (n) => void events.push(`down ${n}`) }, clock);
  return { r, events, advance };
}

test("first acquire brings a network up once; holds are counted per client", async () => {
  const { r, events } = setup();
  await r.acquire("a", 1);
  await r.acquire("a", 2);
  await r.acquire("a", 1);
  expect(events).toEqual(["up a"]);
  expect(r.holders("a").sort()).toEqual([1, 2]);
  expect(r.release("a", 1)).toBe(true);
  expect(r.holders("a").sort()).toEqual([1, 2]); // client 1 acquired twice
  expect(r.release("a", 3)).toBe(false);
});

test("teardown happens the idle time after the last release, not before, and a new acquire cancels it", async () => {
  const { r, events, advance } = setup();
  await r.acquire("a", 1);
  r.release("a", 1);
  advance(119_000);
  expect(events).toEqual(["up a"]);
  await r.acquire("a", 2); // back in use: the timer is cancelled
  advance(10_000);
  r.disconnect(2);
  expect(r.snapshot()[0]!.teardownInMs).toBe(120_000);
  advance(120_000);
  expect(events).toEqual(["up a", "down a"]);
  expect(r.snapshot()).toEqual([]);
});

test("a disconnect releases every hold of that client", async () => {
  const { r } = setup();
  await r.acquire("a", 1);
  await r.acquire("b", 1);
  await r.acquire("b", 2);
  expect(r.disconnect(1).sort()).toEqual(["a", "b"]);
  expect(r.holders("b")).toEqual([2]);
  expect(r.totalHolds()).toBe(1);
});

test("a failing bring-up records no hold", async () => {
  const { clock } = manualClock();
  const r = new Registry(1000, { up: () => { throw new Error("no bridge"); }, down: () => {} }, clock);
  await expect(r.acquire("a", 1)).rejects.toThrow("no bridge");
  expect(r.totalHolds()).toBe(0);
});

test("idleFor counts only when nothing is held or up", async () => {
  const { r, advance } = setup();
  advance(5000);
  expect(r.idleFor()).toBe(5000);
  await r.acquire("a", 1);
  expect(r.idleFor()).toBe(0);
  r.release("a", 1);
  advance(120_000); // torn down
  advance(3000);
  expect(r.idleFor()).toBe(3000);
});

test("adopt: a network that is up with no holders idles out; an acquire in time keeps it without bringing it up again", async () => {
  const { r, events, advance } = setup();
  r.adopt("a");
  r.adopt("b");
  expect(r.snapshot().map((s) => [s.network, s.up, s.holders.length])).toEqual([["a", true, 0], ["b", true, 0]]);
  expect(r.idleFor()).toBe(0); // an adopted network keeps an --exit-idle broker alive
  await r.acquire("b", 1);
  advance(120_000);
  expect(events).toEqual(["down a"]); // b was up already: no "up b"
  r.adopt("b"); // already known: nothing changes
  expect(r.holders("b")).toEqual([1]);
});
