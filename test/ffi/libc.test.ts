/** libc through bun:ffi: errno → SyscallError, a socketpair round trip, and the lazy/debug loader. */
import { expect, test } from "bun:test";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM } from "../../ffi/libc/constants.ts";
import { libc } from "../../ffi/libc/load.ts";
import { check, errno } from "../../ffi/errno.ts";
import { SyscallError } from "../../src/core/errors.ts";

test("a failing call becomes a SyscallError with the errno name", () => {
  // Read-only lookup of a name that cannot exist: if_nametoindex fails with ENODEV (19).
  const idx = libc().if_nametoindex(Buffer.from("vmlan-nope\0"));
  expect(idx).toBe(0);
  expect(errno()).toBe(19);
  Bun.gc(true);
  const sv = new Int32Array(2);
  expect(() => check("socketpair", libc().socketpair(AF_UNIX, SOCK_DGRAM, 9999, sv), "AF_UNIX")).toThrow(SyscallError);
  try {
    check("socketpair", libc().socketpair(AF_UNIX, SOCK_DGRAM, 9999, sv), "AF_UNIX");
  } catch (e) {
    expect((e as SyscallError).code).toBe("EPROTONOSUPPORT");
    expect((e as SyscallError).message).toBe("socketpair AF_UNIX: EPROTONOSUPPORT (errno 93)");
  }
});

test("send and recv over a socketpair", () => {
  const c = libc();
  const sv = new Int32Array(2);
  check("socketpair", c.socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
  const msg = new TextEncoder().encode("frame");
  expect(Number(c.send(sv[0]!, msg, msg.length, 0))).toBe(5);
  Bun.gc(true);
  const buf = new Uint8Array(64);
  expect(Number(c.recv(sv[1]!, buf, buf.length, 0))).toBe(5);
  expect(new TextDecoder().decode(buf.subarray(0, 5))).toBe("frame");
  c.close(sv[0]!);
  c.close(sv[1]!);
});

test("importing the Linux platform opens no library; the first call logs it under VMLAN_DEBUG_FFI=1", () => {
  const script = `
    await import("./src/platform/linux/index.ts");
    console.error("imported");
    const { libc } = await import("./ffi/libc/load.ts");
    libc().if_nametoindex(Buffer.from("lo\\0"));`;
  const r = Bun.spawnSync([process.execPath, "-e", script], {
    cwd: new URL("../..", import.meta.url).pathname, env: { ...process.env, VMLAN_DEBUG_FFI: "1" }, stderr: "pipe",
  });
  const lines = r.stderr.toString().trim().split("\n");
  expect(lines[0]).toBe("imported");
  expect(lines[1]).toBe("ffi: open libc.so.6");
  expect(lines[2]).toMatch(/^ffi: libc\.if_nametoindex\(<3 bytes>\) = \d+$/);
});

test("VMLAN_LIBC_PATH overrides the library and a bad path is a HostError naming it", () => {
  const r = Bun.spawnSync([process.execPath, "-e", `const { libc } = await import("./ffi/libc/load.ts"); try { libc(); } catch (e) { console.log(e.name, e.message.split(":")[0]); }`], {
    cwd: new URL("../..", import.meta.url).pathname, env: { ...process.env, VMLAN_LIBC_PATH: "/nonexistent/libc.so" }, stdout: "pipe",
  });
  expect(r.stdout.toString().trim()).toBe("HostError cannot open libc at /nonexistent/libc.so (set VMLAN_LIBC_PATH to override)");
});
