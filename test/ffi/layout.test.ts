/**
 * Every struct layout declared in ffi/ against the C compiler: a generated C file prints
 * sizeof/alignof of each struct and offsetof/sizeof of each field, and the numbers must match.
 * Needs gcc, libc6-dev and linux-libc-dev.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Layout } from "../../ffi/layout.ts";
import * as libcStructs from "../../ffi/libc/structs.ts";
import * as netlinkStructs from "../../ffi/netlink/structs.ts";
import { LINUX } from "../../ffi/libc/os.ts";

/** The per-OS table's Linux layouts too (its Darwin ones are checked as data in test/unit/ffi/libc-os.test.ts). */
const linuxTable = [LINUX.cmsghdr, LINUX.sockaddrUn, LINUX.peerCred.layout, LINUX.batchHdr, LINUX.msghdr, LINUX.iovec];
const layouts = [...Object.values(libcStructs), ...Object.values(netlinkStructs), ...linuxTable] as Layout[];
const HEADERS = ["stddef.h", "stdio.h", "stdalign.h", "sys/socket.h", "sys/un.h", "sys/uio.h", "poll.h", "net/if.h", "linux/netlink.h", "linux/rtnetlink.h", "linux/if_addr.h", "linux/virtio_net.h"];

function cProgram(): string {
  const lines = ["#define _GNU_SOURCE", ...HEADERS.map((h) => `#include <${h}>`), "int main(void) {"];
  for (const l of layouts) {
    const t = `struct ${l.name}`;
    lines.push(`  printf("${l.name} %zu %zu\\n", sizeof(${t}), alignof(${t}));`);
    for (const path of Object.keys(l.fields)) {
      lines.push(`  printf("${l.name}.${path} %zu %zu\\n", offsetof(${t}, ${path}), sizeof(((${t} *)0)->${path}));`);
    }
  }
  lines.push("  return 0;", "}");
  return lines.join("\n");
}

const dir = mkdtempSync(join(tmpdir(), "vmlan-layout-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("every ffi struct layout matches gcc's sizeof/offsetof", () => {
  writeFileSync(join(dir, "probe.c"), cProgram());
  const cc = Bun.spawnSync(["gcc", "-std=c11", "-o", join(dir, "probe"), join(dir, "probe.c")], { stderr: "pipe" });
  expect(cc.stderr.toString()).toBe("");
  expect(cc.exitCode).toBe(0);
  const out = Bun.spawnSync([join(dir, "probe")]).stdout.toString().trim().split("\n");
  const fromC = Object.fromEntries(out.map((l) => { const [k, a, b] = l.split(" "); return [k, [Number(a), Number(b)]]; }));
  const ours: Record<string, number[]> = {};
  for (const l of layouts) {
    ours[l.name] = [l.size, l.align];
    for (const [path, f] of Object.entries(l.fields)) ours[`${l.name}.${path}`] = [f.offset, f.size];
  }
  expect(ours).toEqual(fromC);
  expect(Object.keys(ours).length).toBeGreaterThan(50);
});

test("the structs the brief names are all declared", () => {
  const names = layouts.map((l) => l.name);
  for (const n of ["ifreq", "sockaddr_nl", "nlmsghdr", "ifinfomsg", "ifaddrmsg", "rtmsg", "rtattr", "iovec", "msghdr", "mmsghdr"]) {
    expect(names).toContain(n);
  }
});

test("poll and netlink socket option numbers match the headers", async () => {
  const c = await import("../../ffi/libc/constants.ts");
  const names = ["POLLIN", "POLLERR", "POLLHUP", "POLLNVAL", "SOL_NETLINK", "NETLINK_EXT_ACK", "NETLINK_GET_STRICT_CHK"] as const;
  const src = ["#include <stdio.h>", "#include <poll.h>", "#include <sys/socket.h>", "#include <linux/netlink.h>", "#ifndef SOL_NETLINK", "#define SOL_NETLINK 270", "#endif",
    "int main(void) {", ...names.map((n) => `  printf("%d\\n", ${n});`), "  return 0;", "}"].join("\n");
  writeFileSync(join(dir, "consts.c"), src);
  expect(Bun.spawnSync(["gcc", "-o", join(dir, "consts"), join(dir, "consts.c")]).exitCode).toBe(0);
  const fromC = Bun.spawnSync([join(dir, "consts")]).stdout.toString().trim().split("\n").map(Number);
  expect(names.map((n): number => c[n])).toEqual(fromC);
});

test("the DHCP socket's option numbers match the headers", async () => {
  const u = await import("../../ffi/libc/udp.ts");
  const names = ["SO_REUSEADDR", "SO_BROADCAST", "SO_BINDTODEVICE", "SO_RCVBUFFORCE", "IPPROTO_UDP"] as const;
  const src = ["#include <stdio.h>", "#include <sys/socket.h>", "#include <netinet/in.h>", "int main(void) {", ...names.map((n) => `  printf("%d\\n", ${n});`), "  return 0;", "}"].join("\n");
  writeFileSync(join(dir, "udp.c"), src);
  expect(Bun.spawnSync(["gcc", "-o", join(dir, "udp"), join(dir, "udp.c")]).exitCode).toBe(0);
  const fromC = Bun.spawnSync([join(dir, "udp")]).stdout.toString().trim().split("\n").map(Number);
  expect(names.map((n): number => u[n])).toEqual(fromC);
});
