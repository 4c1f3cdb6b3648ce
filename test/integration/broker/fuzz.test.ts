/**
 * Fuzzing the broker's framed messages: random bytes, and valid requests mutated at the byte,
 * frame and JSON level (seeded, bounded in count and time), sent over many connections, some cut
 * mid-frame. Afterwards the broker is still running, logged no internal error, serves a valid
 * client (a TAP on the network) and holds no more descriptors than before.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:net";
import { runVmlan, vmlanBin } from "../../support/binary.ts";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";
import { LineProc } from "../helper/proc.ts";

const SEED = Number(process.env.VMLAN_FUZZ_SEED ?? 0x5eed);
const MESSAGES = 2000;
const BUDGET_MS = 30_000;

let ns: Netns;
let broker: LineProc;
const dir = mkdtempSync(join(tmpdir(), "vmlan-bfuzz-"));
const env = { VMLAN_STATE_DIR: dir };
const sock = join(dir, "broker.sock");
const vmlan = (...args: string[]) => runVmlan(args, { env, netns: ns.name });

/** mulberry32: small, seeded, good enough to pick mutations. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(SEED);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T,>(xs: readonly T[]): T => xs[int(xs.length)]!;

const VALID: Record<string, unknown>[] = [
  { v: 1, id: 1, op: "acquire", network: "fz" }, { v: 1, id: 2, op: "acquire", network: "fz", tap: true },
  { v: 1, id: 3, op: "release", network: "fz" }, { v: 1, id: 4, op: "list" }, { v: 1, id: 5, op: "status" },
  { v: 1, id: 6, op: "attach", network: "fz", interfaceId: "fuzz-1", mac: "02:00:00:00:00:01" },
  { v: 1, id: 7, op: "detach", network: "fz", interfaceId: "fuzz-1" }, { v: 1, id: 8, op: "acquire", network: "nope" },
];
const WEIRD: unknown[] = [
  null, true, -1, 0, 1e308, -0, 2 ** 53 + 1, 0.5, NaN, "", "x".repeat(int(4000)), "\u0000\n\u001b[31m\u202e", "ｆｚ", "../../etc",
  [], [1, [2, [3]]], {}, { op: "stop" }, "fz\u0000", "a".repeat(65), "default", "vl-fz", Number.MAX_SAFE_INTEGER,
];

function frame(body: Uint8Array, len = body.length): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, len >>> 0, false);
  out.set(body, 4);
  return out;
}
const json = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));

/** A valid request mutated at the JSON level: a field replaced, dropped or added, or an odd op. */
function mutateJson(): Record<string, unknown> {
  const m: Record<string, unknown> = { ...pick(VALID) };
  const keys = Object.keys(m);
  switch (int(5)) {
    case 0: m[pick(keys)] = pick(WEIRD); break;
    case 1: delete m[pick(keys)]; break;
    case 2: m[pick(["extra", "__proto__", "constructor", "tap", "force", "keep", "mac"])] = pick(WEIRD); break;
    case 3: m.op = pick(["format-disk", "ACQUIRE", "acquire ", "", "release", "attach", "detach", "list"]); break;
    default: m.id = pick(WEIRD);
  }
  // `stop` is a valid request that ends the broker on purpose; the fuzzer must not send it.
  if (m.op === "stop") m.op = "status";
  return m;
}

/** Bytes for one message: raw garbage, a mutated JSON request, or a byte-mutated valid frame. */
function message(): Uint8Array {
  const kind = int(6);
  if (kind === 0) return Uint8Array.from({ length: int(300) }, () => int(256));
  if (kind === 1) return frame(json(mutateJson()));
  const body = json(kind === 2 ? mutateJson() : pick(VALID));
  if (kind === 3) for (let i = 0; i < 1 + int(4); i++) body[int(body.length)] ^= 1 << int(8); // bit flips
  if (kind === 4) return frame(body, pick([0, 1, body.length - 1, body.length + 7, 65536, 65537, 0xffffffff, int(70000)]));
  if (kind === 5) return frame(body.subarray(0, int(body.length))); // truncated JSON
  return frame(body);
}

/** Replies seen, by outcome ("ok" or the error code), for the summary line. */
const replies: Record<string, number> = {};
function tally(buf: Buffer): void {
  for (let o = 0; o + 4 <= buf.length; ) {
    const len = buf.readUInt32BE(o);
    if (o + 4 + len > buf.length) break;
    try {
      const r = JSON.parse(buf.subarray(o + 4, o + 4 + len).toString());
      const k = r.ok ? "ok" : r.error.code;
      replies[k] = (replies[k] ?? 0) + 1;
    } catch {}
    o += 4 + len;
  }
}

/** Sends a few messages on one connection, sometimes cut mid-way; resolves when the broker hangs up or 60 ms after the last write. */
function session(): Promise<number> {
  const parts = Array.from({ length: 1 + int(4) }, message);
  let bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((o, p) => (bytes.set(p, o), o + p.length), 0);
  if (rand() < 0.2) bytes = bytes.subarray(0, int(bytes.length));
  return new Promise((resolve) => {
    const s = connect(sock);
    let got = Buffer.alloc(0);
    s.on("data", (d: Buffer) => (got = Buffer.concat([got, d])));
    const done = () => (clearTimeout(t), s.destroy(), tally(got), resolve(parts.length));
    let t = setTimeout(done, 2000); // never waits longer, whatever the socket does
    s.on("error", done);
    s.on("close", done);
    s.on("connect", () => {
      const cut = int(bytes.length + 1); // two writes: frames split across reads
      s.write(bytes.subarray(0, cut));
      setTimeout(() => {
        s.write(bytes.subarray(cut));
        clearTimeout(t);
        t = setTimeout(done, 60);
      }, int(20));
    });
  });
}

beforeAll(async () => {
  ns = createNetns();
  expect((await vmlan("network", "create", "fz", "--subnet", "10.96.40.0/24")).exitCode).toBe(0);
  expect((await vmlan("system", "stop")).exitCode).toBe(0);
  broker = new LineProc(["ip", "netns", "exec", ns.name, vmlanBin(), "broker", "--socket", sock, "--idle-timeout", "60"], env);
  await broker.waitFor(/listening on/, { stream: "err" });
});
afterAll(() => {
  broker?.kill("SIGKILL");
  ns?.delete();
  rmSync(dir, { recursive: true, force: true });
});

test(`${MESSAGES} random and mutated framed messages (seed ${SEED}): the broker stays up and serves a valid client`, async () => {
  const status = async () => JSON.parse((await vmlan("broker", "status", "--json", "--socket", sock)).stdout);
  const before = (await status()).openFds as number;
  const end = Date.now() + BUDGET_MS;
  let sent = 0;
  while (sent < MESSAGES && Date.now() < end) {
    const counts = await Promise.all(Array.from({ length: 8 }, session)); // 8 connections at a time
    sent += counts.reduce((a, b) => a + b, 0);
  }
  expect(sent).toBeGreaterThanOrEqual(MESSAGES);
  process.stderr.write(`broker fuzz: ${sent} messages, replies ${JSON.stringify(replies)}\n`);
  await Bun.sleep(300);
  expect(broker.proc.exitCode).toBeNull();
  const log = broker.err.join("\n");
  expect(log).not.toContain("internal error");
  const after = await status();
  expect(after.openFds).toBeLessThanOrEqual(before + 2);
  const c = new LineProc(["ip", "netns", "exec", ns.name, BUN, "test/support/broker-taps.ts", "--socket", sock, "--network", "fz", "--taps", "1"], { ...env, VMLAN_TEST_NETNS: ns.name });
  expect(JSON.parse((await c.waitFor(/^taps /)).slice(5))).toMatchObject({ got: [[expect.stringMatching(/^vlt/)]], refused: [] });
  c.kill();
}, 60_000);
