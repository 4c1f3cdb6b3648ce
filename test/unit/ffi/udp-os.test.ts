// The DHCP socket's per-OS numbers (ffi/libc/udp-os.ts): Linux's equal the gcc-checked ones in udp.ts; macOS's are xnu's.
import { expect, test } from "bun:test";
import { selectUdpOs } from "../../../ffi/libc/udp-os.ts";
import { SO_BINDTODEVICE, SO_BROADCAST, SO_REUSEADDR } from "../../../ffi/libc/udp.ts";
import { MSG_DONTWAIT, SOL_SOCKET } from "../../../ffi/libc/constants.ts";

test("Linux: SO_BINDTODEVICE by name, the numbers udp.ts and constants.ts have, sockaddr_in with a u16 family", () => {
  const l = selectUdpOs("linux");
  expect([l.SOL_SOCKET, l.SO_REUSEADDR, l.SO_BROADCAST, l.MSG_DONTWAIT]).toEqual([SOL_SOCKET, SO_REUSEADDR, SO_BROADCAST, MSG_DONTWAIT]);
  const b = l.bindToInterface("vl-x", 7);
  expect([b.level, b.name, Buffer.from(b.value).toString()]).toEqual([SOL_SOCKET, SO_BINDTODEVICE, "vl-x\0"]);
  expect([...l.sockaddrIn("10.85.0.1", 67)]).toEqual([2, 0, 0, 67, 10, 85, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
});

test("macOS: IP_BOUND_IF (25 at IPPROTO_IP) by index, SOL_SOCKET 0xffff, sockaddr_in with sin_len 16", () => {
  const d = selectUdpOs("darwin");
  expect([d.SOL_SOCKET, d.SO_REUSEADDR, d.SO_BROADCAST, d.MSG_DONTWAIT]).toEqual([0xffff, 0x4, 0x20, 0x80]);
  const b = d.bindToInterface("bridge100", 12);
  expect([b.level, b.name, [...b.value]]).toEqual([0, 25, [...new Uint8Array(new Int32Array([12]).buffer)]]);
  expect([...d.sockaddrIn("192.168.64.1", 67)]).toEqual([16, 2, 0, 67, 192, 168, 64, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
});
