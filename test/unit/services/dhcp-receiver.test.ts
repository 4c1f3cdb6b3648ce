/**
 * The daemon's one DHCP receiving Worker (src/services/dhcp/receiver.ts + worker.ts), over unix
 * datagram socketpairs standing in for the networks' sockets: every datagram reaches the server of
 * its own socket, one broken socket takes down only its own server, and the Worker goes away with
 * the last socket.
 */
import { afterEach, expect, test } from "bun:test";
import { libc } from "../../../ffi/libc/load.ts";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK } from "../../../ffi/libc/constants.ts";
import { DhcpReceiver } from "../../../src/services/dhcp/receiver.ts";

const open: number[] = [];
afterEach(() => { for (const fd of open.splice(0)) libc().close(fd); });

function pair(): [number, number] {
  const sv = new Int32Array(2);
  if (libc().socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) !== 0) throw new Error("socketpair failed");
  return [sv[0]!, sv[1]!];
}
const send = (fd: number, text: string) => { const b = Buffer.from(text); libc().send(fd, b, b.length, 0); };

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await Bun.sleep(10);
  }
}

test("datagrams of many sockets reach their own subscriber, in order", async () => {
  const r = new DhcpReceiver();
  const got = new Map<number, string[]>();
  const pairs = Array.from({ length: 20 }, () => pair());
  const subs = pairs.map(([, theirs], i) => r.add(theirs, (b) => { got.set(i, [...(got.get(i) ?? []), Buffer.from(b).toString()]); }, () => { throw new Error("no error expected"); }));
  for (const [mine] of pairs) open.push(mine);
  pairs.forEach(([mine], i) => { for (let k = 0; k < 3; k++) send(mine, `net${i}-${k}`); });
  await until(() => [...got.values()].reduce((a, x) => a + x.length, 0) === 60);
  pairs.forEach((_, i) => expect(got.get(i)).toEqual([`net${i}-0`, `net${i}-1`, `net${i}-2`]));
  expect(r.sockets).toBe(20);
  await Promise.all(subs.map((s) => s.stop()));
  expect(r.sockets).toBe(0);
  for (const [, theirs] of pairs) libc().close(theirs);
});

test("a socket closed under the receiver fails its own server only; the others keep receiving", async () => {
  const r = new DhcpReceiver();
  const [a1, a2] = pair(), [b1, b2] = pair();
  open.push(a1, b1, b2);
  const errors: string[] = [];
  const got: string[] = [];
  r.add(a2, (x) => got.push(Buffer.from(x).toString()), (m) => errors.push(m));
  const b = r.add(b2, (x) => got.push(Buffer.from(x).toString()), (m) => errors.push(`b: ${m}`));
  send(a1, "first");
  await until(() => got.length === 1); // the Worker runs (and has opened whatever fds it needs)
  libc().close(a2); // what a bug would do: the fd goes away while the Worker polls it
  await until(() => errors.length === 1);
  expect(errors[0]).toMatch(/closed while the receiver polled it/);
  send(b1, "still here");
  await until(() => got.length === 2);
  expect(got).toEqual(["first", "still here"]);
  await b.stop();
  expect(r.sockets).toBe(0);
});
