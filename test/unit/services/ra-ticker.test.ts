/**
 * The router-advertisement servers' one shared timer (src/services/ra/ticker.ts), over unix datagram
 * socketpairs standing in for the networks' ICMPv6 sockets: every member is ticked each round, told
 * readable only when its own socket has something queued, and the timer stops with the last member.
 */
import { afterEach, expect, test } from "bun:test";
import { libc } from "../../../ffi/libc/load.ts";
import { AF_UNIX, MSG_DONTWAIT, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK } from "../../../ffi/libc/constants.ts";
import { Ticker, type Ticking } from "../../../src/services/ra/ticker.ts";

const open: number[] = [];
afterEach(() => { for (const fd of open.splice(0)) libc().close(fd); });

function pair(): [number, number] {
  const sv = new Int32Array(2);
  if (libc().socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) !== 0) throw new Error("socketpair failed");
  open.push(sv[0]!, sv[1]!);
  return [sv[0]!, sv[1]!];
}
const send = (fd: number) => libc().send(fd, Buffer.from("rs"), 2, 0);

/** A member that records what each tick was told and reads its socket when readable. */
function member(fd: number): Ticking & { seen: boolean[] } {
  const buf = new Uint8Array(16);
  const m = {
    fd, seen: [] as boolean[],
    tick(readable: boolean) {
      m.seen.push(readable);
      if (readable) while (Number(libc().recv(fd, buf, buf.length, MSG_DONTWAIT)) >= 0);
    },
  };
  return m;
}

test("one round ticks every member; only those with a datagram queued are told readable", () => {
  const t = new Ticker(60_000);
  const pairs = Array.from({ length: 50 }, () => pair());
  const members = pairs.map(([, theirs]) => member(theirs));
  members.forEach((m) => t.add(m));
  for (const i of [3, 17, 49]) send(pairs[i]![0]);
  t.tick();
  members.forEach((m, i) => expect(m.seen).toEqual([[3, 17, 49].includes(i)]));
  t.tick(); // drained: nobody readable any more
  members.forEach((m) => expect(m.seen[1]).toBe(false));
  members.forEach((m) => t.delete(m));
  expect(t.size).toBe(0);
});

test("the timer drives the members while any is added, and stops with the last", async () => {
  const t = new Ticker(20);
  const [mine, theirs] = pair();
  const m = member(theirs);
  t.add(m);
  send(mine);
  await Bun.sleep(150);
  expect(m.seen.length).toBeGreaterThan(2);
  expect(m.seen.filter(Boolean).length).toBe(1);
  t.delete(m);
  const ticks = m.seen.length;
  await Bun.sleep(100);
  expect(m.seen.length).toBe(ticks);
});
