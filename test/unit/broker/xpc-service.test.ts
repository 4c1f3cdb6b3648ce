/**
 * The broker's XPC policy (vmnet-broker's protocol) against a hand-driven Registry and recorded
 * replies: who may acquire, which requests are invalid and what they are answered, vmnet-broker's
 * builtin names, the per-connection cap, and holds that end with the connection (then idle teardown).
 */
import { expect, test } from "bun:test";
import { Registry, type Clock } from "../../../src/broker/registry.ts";
import { BROKER_ERROR, MAX_PEER_NETWORKS, XPC_CLIENT_BASE, XpcBrokerService } from "../../../src/broker/xpc-service.ts";
import { NotFoundError, ConflictError } from "../../../src/core/errors.ts";

function harness(o: { gid?: number | null; createFails?: boolean } = {}) {
  let now = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let next = 1;
  const clock: Clock = { now: () => now, setTimeout: (fn, ms) => (timers.set(next, { at: now + ms, fn }), next++), clearTimeout: (h) => void timers.delete(h as number) };
  const advance = (ms: number) => { now += ms; for (const [id, t] of [...timers]) if (t.at <= now) (timers.delete(id), t.fn()); };
  const events: string[] = [];
  const registry = new Registry(1000, {
    up: (n) => { if (o.createFails) throw new ConflictError(`subnet of ${n} in use`); events.push(`up ${n}`); },
    down: (n) => void events.push(`down ${n}`),
  }, clock);
  const replies: unknown[] = [];
  const logs: string[] = [];
  const known = new Set(["default", "web", ...Array.from({ length: 10 }, (_, i) => `n${i}`)]);
  const svc = new XpcBrokerService(
    { replyNetwork: (msg, ref) => (replies.push({ msg, ref }), { ok: true, vmnetStatus: 1000 }), replyError: (msg, code, message) => (replies.push({ msg, code, message }), true) },
    registry,
    {
      resolve: async (n) => { if (n === "shared") return "default"; if (known.has(n)) return n; throw new NotFoundError(`no network named "${n}"`); },
      ref: (n) => (registry.holders(n).length ? 0x1000 + n.length : null),
    },
    { gid: o.gid ?? null, selfUid: 501 },
    (m) => void logs.push(m),
  );
  const connect = (conn: number, uid: number, extra: { gid?: number; groups?: number[] } = {}) =>
    svc.handle({ event: "connect", conn, service: "dev.vmlan.broker", pid: 100 + conn, uid, gid: extra.gid ?? 20, groups: extra.groups ?? [] });
  let msg = 0;
  const request = (conn: number, request: Record<string, string | number | boolean>, invalid = false) => svc.handle({ event: "request", conn, msg: ++msg, request, invalid });
  return { svc, registry, replies, logs, events, advance, connect, request };
}

test("acquire answers the serialization of the network the name means; `shared` is vmlan's default", async () => {
  const h = harness();
  await h.connect(1, 0);
  await h.request(1, { command: "acquire", network_name: "web" });
  await h.request(1, { command: "acquire", network_name: "shared" });
  expect(h.replies).toEqual([{ msg: 1, ref: 0x1003 }, { msg: 2, ref: 0x1007 }]);
  expect(h.registry.holders("web")).toEqual([XPC_CLIENT_BASE + 1]);
  expect(h.logs).toContain(`XPC client pid 101 (dev.vmlan.broker) acquired default as "shared"`);
});

test("bad requests get vmnet-broker's codes: invalid 4, unknown network 5, creation failed 6", async () => {
  const h = harness();
  await h.connect(1, 501);
  await h.request(1, { network_name: "web" });
  await h.request(1, { command: "release", network_name: "web" });
  await h.request(1, { command: "acquire", network_name: 7 });
  await h.request(1, { command: "acquire", network_name: "bad name!" });
  await h.request(1, { command: "acquire", network_name: "web" }, true);
  await h.request(1, { command: "acquire", network_name: "nope" });
  const codes = h.replies.map((r) => (r as { code: number }).code);
  expect(codes).toEqual([4, 4, 4, 4, 4, 5].map((c) => c as number));
  expect((h.replies[1] as { message: string }).message).toBe('invalid request: command "release" is not "acquire"');
  const failing = harness({ createFails: true });
  await failing.connect(1, 0);
  await failing.request(1, { command: "acquire", network_name: "web" });
  expect(failing.replies).toEqual([{ msg: 1, code: BROKER_ERROR.CREATE_FAILURE, message: "network web: subnet of web in use" }]);
  expect(failing.registry.holders("web")).toEqual([]);
});

test("peers: root, the broker's user and the allowed group (primary or supplementary); others get NOT_ALLOWED", async () => {
  const h = harness({ gid: 600 });
  expect([h.svc.allowed({ uid: 0, gid: 0, groups: [] }), h.svc.allowed({ uid: 501, gid: 20, groups: [] }), h.svc.allowed({ uid: 502, gid: 600, groups: [] }),
    h.svc.allowed({ uid: 503, gid: 20, groups: [20, 600] }), h.svc.allowed({ uid: 504, gid: 20, groups: [20] })]).toEqual([true, true, true, true, false]);
  await h.connect(1, 504);
  await h.request(1, { command: "acquire", network_name: "web" });
  expect(h.replies).toEqual([{ msg: 1, code: BROKER_ERROR.NOT_ALLOWED, message: "uid 504 may not use this broker" }]);
  expect(h.events).toEqual([]); // nothing was brought up for it
});

test(`a connection holds at most ${MAX_PEER_NETWORKS} networks; acquiring one twice holds it once`, async () => {
  const h = harness();
  await h.connect(1, 0);
  for (let i = 0; i < 10; i++) await h.request(1, { command: "acquire", network_name: `n${i}` });
  await h.request(1, { command: "acquire", network_name: "n0" });
  const errors = h.replies.filter((r) => "code" in (r as object));
  expect(errors).toEqual([{ msg: 9, code: 7, message: "a client holds at most 8 networks" }, { msg: 10, code: 7, message: "a client holds at most 8 networks" }]);
  expect(h.replies.at(-1)).toEqual({ msg: 11, ref: 0x1002 });
  expect(h.registry.totalHolds()).toBe(8);
});

test("holds end with the connection; the network goes down after the idle time; other clients keep theirs", async () => {
  const h = harness();
  await h.connect(1, 0);
  await h.connect(2, 0);
  await h.request(1, { command: "acquire", network_name: "web" });
  await h.request(2, { command: "acquire", network_name: "web" });
  await h.svc.handle({ event: "disconnect", conn: 1 });
  expect(h.logs).toContain("XPC client pid 101 left; released web");
  h.advance(5000);
  expect(h.events).toEqual(["up web"]);
  await h.svc.handle({ event: "disconnect", conn: 2 });
  h.advance(999);
  expect(h.events).toEqual(["up web"]);
  h.advance(1);
  expect(h.events).toEqual(["up web", "down web"]);
  await h.request(3, { command: "acquire", network_name: "web" }); // an unknown connection
  expect(h.replies.at(-1)).toMatchObject({ code: 7 });
});
