/**
 * The TUN/TAP and virtio-net numbers the offload datapath uses, against the kernel's headers: a
 * generated C file prints each macro and the values in ffi/libc/constants.ts must match.
 * Needs gcc and linux-libc-dev (PREREQUISITES).
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as c from "../../ffi/libc/constants.ts";

const NAMES = [
  "SO_SNDBUF", "SO_RCVBUF", "SO_SNDBUFFORCE", "SO_RCVBUFFORCE",
  "TUNSETIFF", "TUNSETOFFLOAD", "TUNSETVNETHDRSZ", "IFF_TAP", "IFF_NO_PI", "IFF_VNET_HDR",
  "TUN_F_CSUM", "TUN_F_TSO4", "TUN_F_TSO6", "TUN_F_TSO_ECN", "TUN_F_UFO",
  "VIRTIO_NET_HDR_F_NEEDS_CSUM", "VIRTIO_NET_HDR_F_DATA_VALID", "VIRTIO_NET_HDR_GSO_NONE", "VIRTIO_NET_HDR_GSO_TCPV4",
  "VIRTIO_NET_HDR_GSO_UDP", "VIRTIO_NET_HDR_GSO_TCPV6", "VIRTIO_NET_HDR_GSO_ECN",
] as const;

const dir = mkdtempSync(join(tmpdir(), "vmlan-consts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("TUN/TAP and virtio-net constants match <linux/if_tun.h> and <linux/virtio_net.h>", () => {
  const src = ["#include <stdio.h>", "#include <sys/ioctl.h>", "#include <sys/socket.h>", "#include <linux/if_tun.h>", "#include <linux/virtio_net.h>", "int main(void) {",
    ...NAMES.map((n) => `  printf("${n} %lu\\n", (unsigned long)(${n}));`), "  return 0;", "}"].join("\n");
  writeFileSync(join(dir, "consts.c"), src);
  const cc = Bun.spawnSync(["gcc", "-o", join(dir, "consts"), join(dir, "consts.c")], { stderr: "pipe" });
  expect(cc.stderr.toString()).toBe("");
  const fromC = Object.fromEntries(Bun.spawnSync([join(dir, "consts")]).stdout.toString().trim().split("\n").map((l) => {
    const [k, v] = l.split(" ");
    return [k, Number(v)];
  }));
  expect(Object.fromEntries(NAMES.map((n) => [n, c[n]]))).toEqual(fromC);
});
