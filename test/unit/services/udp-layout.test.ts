/**
 * ffi/libc/udp.ts and ffi/libc/icmp6.ts against the C compiler (STYLE habit 6): struct sizes and
 * offsets and the option numbers, as the system headers define them. (test/ffi/layout.test.ts covers
 * ffi/libc/structs.ts; this file covers the layouts the DHCP and RA sockets added.)
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Layout } from "../../../ffi/layout.ts";
import { IPPROTO_UDP, SO_BINDTODEVICE, SO_BROADCAST, SO_REUSEADDR, sockaddr_in } from "../../../ffi/libc/udp.ts";
import * as icmp6 from "../../../ffi/libc/icmp6.ts";

const dir = mkdtempSync(join(tmpdir(), "vmlan-udp-layout-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LAYOUTS: Layout[] = [sockaddr_in, icmp6.sockaddr_in6, icmp6.ipv6_mreq];
const NUMBERS: Record<string, number> = {
  SO_REUSEADDR, SO_BROADCAST, SO_BINDTODEVICE, IPPROTO_UDP, IPPROTO_IPV6: icmp6.IPPROTO_IPV6, IPPROTO_ICMPV6: icmp6.IPPROTO_ICMPV6,
  IPV6_UNICAST_HOPS: icmp6.IPV6_UNICAST_HOPS, IPV6_MULTICAST_HOPS: icmp6.IPV6_MULTICAST_HOPS, IPV6_ADD_MEMBERSHIP: icmp6.IPV6_ADD_MEMBERSHIP,
  ICMP6_FILTER: icmp6.ICMP6_FILTER,
};

test("socket address layouts and option numbers match gcc", () => {
  const lines: string[] = [];
  const ours: string[] = [];
  for (const l of LAYOUTS) {
    lines.push(`  printf("${l.name} %zu\\n", sizeof(struct ${l.name}));`);
    ours.push(`${l.name} ${l.size}`);
    for (const [f, x] of Object.entries(l.fields)) {
      lines.push(`  printf("${l.name}.${f} %zu %zu\\n", offsetof(struct ${l.name}, ${f}), sizeof(((struct ${l.name} *)0)->${f}));`);
      ours.push(`${l.name}.${f} ${x.offset} ${x.size}`);
    }
  }
  for (const [k, v] of Object.entries(NUMBERS)) {
    lines.push(`  printf("${k} %d\\n", ${k});`);
    ours.push(`${k} ${v}`);
  }
  const c = ["#include <stdio.h>", "#include <stddef.h>", "#include <sys/socket.h>", "#include <netinet/in.h>", "#include <netinet/icmp6.h>", "int main(void) {", ...lines, "  return 0;", "}"].join("\n");
  writeFileSync(join(dir, "probe.c"), c);
  const cc = Bun.spawnSync(["gcc", "-o", join(dir, "probe"), join(dir, "probe.c")], { stderr: "pipe" });
  expect(cc.stderr.toString()).toBe("");
  expect(Bun.spawnSync([join(dir, "probe")]).stdout.toString().trim().split("\n")).toEqual(ours);
});
