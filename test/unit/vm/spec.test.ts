import { expect, test } from "bun:test";
import { guestCmdline, parseVmRequest, type VmNic } from "../../../src/vm/spec.ts";
import { cpioNewc } from "../../../src/vm/cpio.ts";

const nic = (i: number): VmNic => ({ network: `n${i}`, bridge: `vl-n${i}`, mac: `02:00:00:00:00:0${i}`, address: `10.0.${i}.5`, prefixLength: 24, gateway: `10.0.${i}.1` });

test("the kernel command line carries ip= for the first NIC and vmlan.net= for each, gateway on the first only", () => {
  const line = guestCmdline({ name: "g1", exec: "echo hi", poweroff: true }, [nic(1), nic(2)]);
  expect(line).toContain("console=ttyS0");
  expect(line.split(" ")).toContain("no_timer_check"); // a busy host's TCG guest must not panic in check_timer
  expect(line).toContain("ip=10.0.1.5::10.0.1.1:255.255.255.0:g1:eth0:off");
  expect(line).toContain("vmlan.net=02:00:00:00:00:01,10.0.1.5/24,10.0.1.1 vmlan.net=02:00:00:00:00:02,10.0.2.5/24 ");
  expect(line).toContain(`vmlan.cmd=${Buffer.from("echo hi").toString("base64")}`);
  expect(line).toContain("vmlan.poweroff=1");
});

test("a command line over the kernel's 2047 bytes is a usage error", () => {
  expect(() => guestCmdline({ name: "g1", exec: "x".repeat(2000) }, [nic(1)])).toThrow(/2047/);
});

test("VM requests are validated: name is a host label, networks unique, --console - not with --detach", () => {
  const ok = { name: "vm-1", networks: ["a"], cpus: 1, memoryMb: 256 };
  expect(parseVmRequest(ok).attachment).toBe("native");
  expect(() => parseVmRequest({ ...ok, name: "bad_name" })).toThrow(/hostname/);
  expect(() => parseVmRequest({ ...ok, networks: ["a", "a"] })).toThrow(/once/);
  expect(() => parseVmRequest({ ...ok, networks: [] })).toThrow(/--network/);
  expect(() => parseVmRequest({ ...ok, detach: true, console: "-" })).toThrow(/--detach/);
  expect(() => parseVmRequest({ ...ok, initrd: "/x" })).toThrow(/--kernel/);
});

test("cpio newc: 110-byte headers, 4-byte alignment, parents first, trailer last", () => {
  const data = new TextEncoder().encode("hello");
  const out = cpioNewc([{ path: "bin", type: "dir" }, { path: "bin/x", type: "file", data, mode: 0o755 }, { path: "bin/sh", type: "symlink", target: "x" }]);
  const text = new TextDecoder("latin1").decode(out);
  const entries: { name: string; mode: number; body: string }[] = [];
  for (let off = 0; off < out.length; ) {
    expect(text.slice(off, off + 6)).toBe("070701");
    const field = (i: number) => parseInt(text.slice(off + 6 + i * 8, off + 14 + i * 8), 16);
    const size = field(6);
    const nameLen = field(11);
    const name = text.slice(off + 110, off + 110 + nameLen - 1);
    const dataOff = Math.ceil((off + 110 + nameLen) / 4) * 4;
    entries.push({ name, mode: field(1), body: text.slice(dataOff, dataOff + size) });
    off = Math.ceil((dataOff + size) / 4) * 4;
    if (name === "TRAILER!!!") break;
  }
  expect(entries.map((e) => e.name)).toEqual(["bin", "bin/x", "bin/sh", "TRAILER!!!"]);
  expect(entries[1]).toEqual({ name: "bin/x", mode: 0o100755, body: "hello" });
  expect(entries[2]!.mode).toBe(0o120777);
  expect(entries[2]!.body).toBe("x");
  expect(out.length % 4).toBe(0);
});
