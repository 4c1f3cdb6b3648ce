/**
 * The datapath's libc on THIS host through the per-OS table (ffi/libc/os.ts): on Linux it re-checks
 * glibc; on a Mac (scripts/verify-macos.sh runs it) it is the only proof that libSystem's numbers,
 * msghdr_x + recvmsg_x/sendmsg_x, __error(), the Apple-arm64 variadic fcntl/open binding, LOCAL_PEERCRED
 * and SCM_RIGHTS with a 12-byte cmsghdr work. Sockets only (socketpairs and a temp file): no network.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { libc } from "../../../ffi/libc/load.ts";
import { OS } from "../../../ffi/libc/os.ts";
import { fcntlInt, openMode, emulateSocketFlags } from "../../../ffi/libc/variadic.ts";
import { errno } from "../../../ffi/errno.ts";
import { FrameBatch } from "../../../src/datapath/port.ts";
import { DgramPort } from "../../../src/datapath/unix-dgram.ts";
import { batchIo } from "../../../src/datapath/batch-io.ts";
import { peerCred, recvWithFd, sendWithFd } from "../../../src/ipc/unix-stream.ts";

const dir = mkdtempSync(join(tmpdir(), "vmlan-libc-"));
const fds: number[] = [];
afterAll(() => {
  for (const fd of fds) libc().close(fd);
  rmSync(dir, { recursive: true, force: true });
});

function pair(type: number): [number, number] {
  const sv = new Int32Array(2);
  expect(libc().socketpair(OS.AF_UNIX, type | OS.SOCK_CLOEXEC, 0, sv)).toBe(0);
  for (const fd of sv) emulateSocketFlags(fd, true, false);
  fds.push(sv[0]!, sv[1]!);
  return [sv[0]!, sv[1]!];
}

test(`datagram batches (${OS.name}): 20 frames through DgramPort, lengths intact`, () => {
  const [a, b] = pair(OS.SOCK_DGRAM);
  const tx = new FrameBatch(32, 1536);
  for (let i = 0; i < 20; i++) {
    tx.slots[i]!.fill(i);
    tx.lens[i] = 60 + i;
  }
  expect(new DgramPort(a, tx).send(tx, 20)).toBe(20);
  const rx = new FrameBatch(32, 1536);
  const port = new DgramPort(b, rx);
  let got = 0;
  while (got < 20) {
    const n = port.recv(rx, 100);
    expect(n).toBeGreaterThan(0);
    for (let i = 0; i < n; i++) {
      expect(rx.lens[i]).toBe(60 + got + i);
      expect(rx.slots[i]![0]).toBe(got + i);
    }
    got += n;
  }
  console.log(`finding: datapath batch mode on this host: ${batchIo(new DataView(new ArrayBuffer(8))).mode}`);
});

test("errno: an empty non-blocking receive gives this OS's EAGAIN", () => {
  const [a] = pair(OS.SOCK_DGRAM);
  const buf = new Uint8Array(16);
  expect(Number(libc().recv(a, buf, buf.length, OS.MSG_DONTWAIT))).toBe(-1);
  expect(errno()).toBe(OS.errno.EAGAIN);
});

test("fcntl through the variadic binding: O_NONBLOCK and FD_CLOEXEC round-trip", () => {
  const [a] = pair(OS.SOCK_DGRAM);
  expect(fcntlInt(a, OS.F_GETFD, 0) & OS.FD_CLOEXEC).toBe(OS.FD_CLOEXEC);
  const flags = fcntlInt(a, OS.F_GETFL, 0);
  expect(fcntlInt(a, OS.F_SETFL, flags | OS.O_NONBLOCK)).toBe(0);
  expect(fcntlInt(a, OS.F_GETFL, 0) & OS.O_NONBLOCK).toBe(OS.O_NONBLOCK);
});

test("open through the variadic binding creates the file with the given mode", () => {
  const path = join(dir, "lock");
  const fd = openMode(path, OS.O_RDONLY | OS.O_CREAT | OS.O_CLOEXEC, 0o600);
  expect(fd).toBeGreaterThanOrEqual(0);
  fds.push(fd);
  expect(statSync(path).mode & 0o777).toBe(0o600);
});

test("unix stream: peer credentials and an fd passed with SCM_RIGHTS", () => {
  const [a, b] = pair(OS.SOCK_STREAM);
  const cred = peerCred(a);
  expect(cred.uid).toBe(process.getuid!());
  expect(cred.gid).toBe(process.getgid!());
  expect(cred.pid).toBe(process.pid);
  const [x] = pair(OS.SOCK_DGRAM);
  expect(sendWithFd(a, new TextEncoder().encode("hi"), x)).toBe(2);
  const buf = new Uint8Array(8);
  const r = recvWithFd(b, buf, false);
  expect(r.n).toBe(2);
  expect(r.fd).not.toBeNull();
  expect(r.fd).not.toBe(x);
  fds.push(r.fd!);
  expect(fcntlInt(r.fd!, OS.F_GETFD, 0) & OS.FD_CLOEXEC).toBe(OS.FD_CLOEXEC);
});
