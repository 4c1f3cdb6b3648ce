/**
 * The per-OS libc table (ffi/libc/os.ts): the Darwin layouts as data against the LP64 numbers of the
 * macOS SDK headers (no Mac here: these are the documented sizes and offsets), the Linux table equal to
 * the gcc-checked layouts and the numbers vmlan used before (Linux behaviour unchanged), and the
 * selection by platform.
 */
import { describe, expect, test } from "bun:test";
import { DARWIN, LINUX, OS, encodeSockaddrUn, selectLibcOs, sunPathMax } from "../../../ffi/libc/os.ts";
import * as structs from "../../../ffi/libc/structs.ts";
import * as constants from "../../../ffi/libc/constants.ts";
import { decodePeerCred } from "../../../src/ipc/unix-stream.ts";

const offsets = (l: { fields: Record<string, { offset: number; size: number }> }, names: string[]) => names.map((n) => [l.fields[n]!.offset, l.fields[n]!.size]);

describe("Darwin layouts (LP64, xnu headers)", () => {
  test("struct msghdr is 48 bytes: msg_iovlen int, msg_controllen socklen_t", () => {
    expect(DARWIN.msghdr.size).toBe(48);
    expect(offsets(DARWIN.msghdr, ["msg_name", "msg_namelen", "msg_iov", "msg_iovlen", "msg_control", "msg_controllen", "msg_flags"]))
      .toEqual([[0, 8], [8, 4], [16, 8], [24, 4], [32, 8], [40, 4], [44, 4]]);
  });
  test("struct msghdr_x is msghdr + size_t msg_datalen = 56 bytes", () => {
    expect(DARWIN.batchHdr.name).toBe("msghdr_x");
    expect(DARWIN.batchHdr.size).toBe(56);
    expect(DARWIN.batchHdr.fields[DARWIN.batchLenField]).toMatchObject({ offset: 48, size: 8 });
    expect(DARWIN.batchHdr.fields["msg_hdr.msg_flags"]!.offset).toBe(44);
  });
  test("iovec 16, sockaddr_un 106 (sun_len, sun_family, sun_path[104]), cmsghdr 12, xucred 76", () => {
    expect(DARWIN.iovec.size).toBe(16);
    expect(DARWIN.sockaddrUn.size).toBe(106);
    expect(offsets(DARWIN.sockaddrUn, ["sun_len", "sun_family", "sun_path"])).toEqual([[0, 1], [1, 1], [2, 104]]);
    expect(DARWIN.cmsghdr.size).toBe(12);
    expect([DARWIN.cmsgLenInt, DARWIN.cmsgSpaceInt]).toEqual([16, 16]); // __DARWIN_ALIGN32: 4-byte alignment
    const x = DARWIN.peerCred.layout;
    expect(x.size).toBe(76);
    expect(offsets(x, ["cr_version", "cr_uid", "cr_ngroups", "cr_groups"])).toEqual([[0, 4], [4, 4], [8, 2], [12, 64]]);
    expect([DARWIN.peerCred.level, DARWIN.peerCred.optname]).toEqual([0, 1]); // SOL_LOCAL, LOCAL_PEERCRED
  });
  test("the numbers from the SDK headers", () => {
    const d = DARWIN;
    expect([d.SOL_SOCKET, d.SO_SNDBUF, d.SO_RCVBUF, d.MSG_DONTWAIT, d.MSG_PEEK, d.MSG_TRUNC]).toEqual([0xffff, 0x1001, 0x1002, 0x80, 0x2, 0x10]);
    expect(d.SO_TYPE).toBe(0x1008);
    expect(d.errno).toEqual({ EINTR: 4, EPIPE: 32, EAGAIN: 35, EMSGSIZE: 40, ECONNRESET: 54, ENOBUFS: 55, ENOTCONN: 57, ECONNREFUSED: 61 });
    expect([d.O_NONBLOCK, d.F_GETFL, d.F_SETFL, d.FD_CLOEXEC, d.F_GETFD, d.F_SETFD, d.LOCK_EX, d.LOCK_NB, d.POLLIN]).toEqual([4, 3, 4, 1, 1, 2, 2, 4, 1]);
    expect([d.AF_UNIX, d.SOCK_DGRAM, d.SOCK_STREAM, d.SCM_RIGHTS]).toEqual([1, 2, 1, 1]);
    expect([d.SOCK_CLOEXEC, d.SOCK_NONBLOCK, d.MSG_NOSIGNAL, d.MSG_CMSG_CLOEXEC]).toEqual([0, 0, 0, 0]); // emulated
    expect(d.libcPath).toBe("/usr/lib/libSystem.B.dylib");
  });
  test("a sockaddr_un carries sun_len and a one-byte family; 103 path bytes at most", () => {
    const sa = encodeSockaddrUn(DARWIN, "/tmp/x.sock")!;
    expect(sa.length).toBe(106);
    expect([sa[0], sa[1]]).toEqual([106, 1]);
    expect(new TextDecoder().decode(sa.subarray(2, 13))).toBe("/tmp/x.sock");
    expect(sunPathMax(DARWIN)).toBe(103);
    expect(encodeSockaddrUn(DARWIN, "a".repeat(103))).not.toBeNull();
    expect(encodeSockaddrUn(DARWIN, "a".repeat(104))).toBeNull();
  });
  test("peer credentials from a filled xucred: uid, gid = cr_groups[0], pid from LOCAL_PEERPID", () => {
    const v = new DataView(new ArrayBuffer(76));
    v.setUint32(4, 501, true);
    v.setInt16(8, 2, true);
    v.setUint32(12, 20, true);
    v.setUint32(16, 12, true);
    expect(decodePeerCred(v, 4242, DARWIN)).toEqual({ pid: 4242, uid: 501, gid: 20 });
  });
});

describe("the Linux table is what vmlan used before", () => {
  test("layouts equal the gcc-checked ones", () => {
    expect(LINUX.msghdr).toEqual(structs.msghdr);
    expect(LINUX.batchHdr).toEqual(structs.mmsghdr);
    expect(LINUX.iovec).toEqual(structs.iovec);
    expect(LINUX.cmsghdr.size).toBe(16);
    expect([LINUX.cmsgLenInt, LINUX.cmsgSpaceInt]).toEqual([20, 24]);
    expect(LINUX.sockaddrUn.size).toBe(110);
    expect(sunPathMax(LINUX)).toBe(107);
    expect(LINUX.peerCred.layout.size).toBe(12);
  });
  test("numbers equal ffi/libc/constants.ts", () => {
    const c = constants;
    expect([LINUX.AF_UNIX, LINUX.SOCK_STREAM, LINUX.SOCK_DGRAM, LINUX.SOCK_CLOEXEC, LINUX.SOCK_NONBLOCK]).toEqual([c.AF_UNIX, c.SOCK_STREAM, c.SOCK_DGRAM, c.SOCK_CLOEXEC, c.SOCK_NONBLOCK]);
    expect([LINUX.SOL_SOCKET, LINUX.SO_SNDBUF, LINUX.SO_RCVBUF, LINUX.MSG_DONTWAIT, LINUX.MSG_TRUNC]).toEqual([c.SOL_SOCKET, c.SO_SNDBUF, c.SO_RCVBUF, c.MSG_DONTWAIT, c.MSG_TRUNC]);
    expect([LINUX.O_NONBLOCK, LINUX.O_CLOEXEC, LINUX.F_GETFD, LINUX.F_SETFD, LINUX.FD_CLOEXEC]).toEqual([c.O_NONBLOCK, c.O_CLOEXEC, c.F_GETFD, c.F_SETFD, c.FD_CLOEXEC]);
    expect([LINUX.POLLIN, LINUX.POLLERR, LINUX.POLLHUP]).toEqual([c.POLLIN, c.POLLERR, c.POLLHUP]);
    expect(LINUX.errno).toEqual({ EINTR: 4, EPIPE: 32, EAGAIN: 11, EMSGSIZE: 90, ECONNRESET: 104, ENOBUFS: 105, ENOTCONN: 107, ECONNREFUSED: 111 });
    expect([LINUX.MSG_NOSIGNAL, LINUX.MSG_CMSG_CLOEXEC, LINUX.O_CREAT, LINUX.peerCred.optname]).toEqual([0x4000, 0x40000000, 0o100, 17]);
  });
  test("a sockaddr_un is a 2-byte family then the path (unchanged)", () => {
    const sa = encodeSockaddrUn(LINUX, "/run/x")!;
    expect(sa.length).toBe(110);
    expect([sa[0], sa[1], sa[2]]).toEqual([1, 0, "/".charCodeAt(0)]);
    expect(encodeSockaddrUn(LINUX, "a".repeat(108))).toBeNull();
  });
});

test("selection: the darwin table for darwin, the Linux one otherwise; this process is Linux", () => {
  expect(selectLibcOs("darwin")).toBe(DARWIN);
  expect(selectLibcOs("linux")).toBe(LINUX);
  expect(OS).toBe(LINUX);
});
