/**
 * The Virtualization.framework backend (src/platform/darwin/vz.ts) around the shim, on Linux against a
 * fake shim: the one NIC rule (vmnet attachment only for a network held in-process on macOS 26), what
 * openNic hands out, and an in-process VM with a piped console that GuestConsole (src/vm/console.ts)
 * drives as it drives QEMU's stdio pipes — the fake guest reads commands from and answers on the very
 * fds the backend passed to vmlan_vz_config_new. Also: the NIC fd the shim gets is the VM's own copy.
 */
import { expect, test } from "bun:test";
import type { Pointer } from "bun:ffi";
import { fstatSync } from "node:fs";
import { libc } from "../../../../ffi/libc/load.ts";
import { OS } from "../../../../ffi/libc/os.ts";
import { createVzBackend, nicAttachment, type VzLib } from "../../../../src/platform/darwin/vz.ts";
import { GuestConsole } from "../../../../src/vm/console.ts";
import { READY_MARKER } from "../../../../src/vm/guest-init.ts";
import type { HypervisorConfig } from "../../../../src/vm/backend.ts";

test("the NIC rule: the vmnet attachment only on macOS 26+ for a network this process holds", () => {
  expect(nicAttachment({ major: 26, held: 0x7000 })).toEqual({ kind: "vmnet", network: 0x7000 });
  expect(nicAttachment({ major: 27, held: 0x7000 })).toEqual({ kind: "vmnet", network: 0x7000 });
  expect(nicAttachment({ major: 26, held: null })).toEqual({ kind: "helper" }); // not held here (another process, or nobody)
  expect(nicAttachment({ major: 15, held: 0x7000 })).toEqual({ kind: "helper" }); // no vmnet networks before 26
  expect(nicAttachment({ major: 0, held: null })).toEqual({ kind: "helper" });
});

test("openNic: a held network on macOS 26 needs no helper; a detached VM's NIC is deferred to its host", async () => {
  const asked: string[] = [];
  const backend = createVzBackend(["/no/vmlan"], { major: 26, ownedNetwork: (n) => (asked.push(n), n === "lan" ? 0x7000 : null) });
  const both = ["native", "helper"] as const;
  for (const attachment of both) {
    // The label does not matter on macOS: holding does (a helper could not create a held network).
    const p = await backend.openNic({ network: "lan", bridge: "b", id: "vm1", attachment });
    expect(p).toMatchObject({ kind: "dgram", fd: -1, ifname: "vmnet:lan", network: 0x7000 });
    expect(p.helperPid).toBeUndefined();
  }
  const d = await backend.openNic({ network: "lab", bridge: "b", id: "vm1", attachment: "native", detach: true });
  expect(d).toMatchObject({ fd: -1, deferred: { network: "lab", id: "vm1" } });
  expect(asked).toEqual(["lan", "lan"]); // the detached NIC is decided by the host process, not here
  // macOS 15 with the same (impossible) hold, and a network nobody holds: a `vmlan helper` (here: it fails to spawn).
  await expect(createVzBackend(["/no/vmlan"], { major: 15, ownedNetwork: () => 0x7000 }).openNic({ network: "lan", bridge: "b", id: "x", attachment: "native" })).rejects.toThrow();
  await expect(backend.openNic({ network: "lab", bridge: "b", id: "x", attachment: "native" })).rejects.toThrow();
});

/** A fake shim whose VM "runs" until vmlan_vz_stop; records every call. */
function fakeLib() {
  const calls: [string, ...unknown[]][] = [];
  let state = 1; // running
  const c = { consoleIn: -1, consoleOut: -1, nicFds: [] as number[] };
  const lib = {
    vmlan_vz_supported: () => 1,
    vmlan_vz_config_new: (...a: unknown[]) => {
      calls.push(["config_new"]);
      c.consoleIn = a[5] as number;
      c.consoleOut = a[6] as number;
      return 0xc0 as Pointer;
    },
    vmlan_vz_config_add_disk: () => 0,
    vmlan_vz_config_add_nic_fd: (_cfg: unknown, fd: number) => (c.nicFds.push(fd), 0),
    vmlan_vz_config_add_nic_network: () => 0,
    vmlan_vz_start: () => (calls.push(["start"]), 0xd0 as Pointer),
    vmlan_vz_state: () => state,
    vmlan_vz_stop: (_vm: unknown, force: number) => {
      calls.push(["stop", force]);
      if (force) state = 0;
    },
    vmlan_vz_free: (h: unknown) => void calls.push(["free", h]),
  } as unknown as VzLib;
  return { lib, calls, c };
}

const config = (o: Partial<HypervisorConfig> = {}): HypervisorConfig => ({
  name: "t", accel: "vz", cpus: 1, memoryMb: 256, kernel: "/k", append: "quiet", nics: [], console: { kind: "stdio", stdio: "pipe" }, ...o,
});

/** The guest side of the console: non-blocking reads of the fd the shim got, lines answered on it. */
function fakeGuest(fd: number) {
  const buf = new Uint8Array(4096);
  let pending = "";
  const send = (s: string) => libc().send(fd, Buffer.from(s), s.length, 0);
  send(`booting\r\n${READY_MARKER} eth0 10.0.0.2\r\n`);
  const t = setInterval(() => {
    for (;;) {
      const n = Number(libc().recv(fd, buf, buf.length, OS.MSG_DONTWAIT));
      if (n <= 0) break;
      pending += new TextDecoder().decode(buf.subarray(0, n));
    }
    for (let i; (i = pending.indexOf("\n")) >= 0; ) {
      const line = pending.slice(0, i);
      pending = pending.slice(i + 1);
      const m = line.match(/^\((.*)\) 2>&1; echo "@@vmlan-rc-(\S+)=\$\?@@"$/);
      if (m) send(`you said: ${m[1]}\n@@vmlan-rc-${m[2]}=3@@\n`);
    }
  }, 10);
  return () => clearInterval(t);
}

test("a piped console: GuestConsole drives the VM through the socketpair the shim got; it ends when the VM does", async () => {
  const { lib, calls, c } = fakeLib();
  const backend = createVzBackend(["/no/vmlan"], { lib: () => lib });
  const proc = await backend.start(config());
  expect(proc.pid).toBe(process.pid);
  expect(c.consoleIn).toBeGreaterThan(2);
  expect(c.consoleOut).toBe(c.consoleIn); // one stream socket: the virtio console reads and writes it
  expect(fstatSync(c.consoleIn).isSocket()).toBe(true);
  const stopGuest = fakeGuest(c.consoleIn);
  const con = new GuestConsole({ stdout: proc.stdout!, stdin: proc.stdin! });
  expect(await con.ready(5000)).toEqual(["10.0.0.2"]);
  expect(await con.run("uname -a", 5000)).toEqual({ code: 3, output: ["you said: uname -a"] });
  stopGuest();
  proc.stop!(); // the ACPI request first
  proc.stop!(); // then at once
  expect(await proc.exited).toBe(0);
  expect(calls.filter((x) => x[0] === "stop")).toEqual([["stop", 0], ["stop", 1]]);
  await expect(con.waitFor(/never/, 5000)).rejects.toThrow(/console closed/); // EOF reached GuestConsole
  expect(() => fstatSync(c.consoleIn)).toThrow(); // the VM's end is closed
});

test("in-process NICs: the shim gets the VM's own copy of the fd, closed when the VM is over; stop(true) forces", async () => {
  const { lib, calls, c } = fakeLib();
  const sv = new Int32Array(2);
  expect(libc().socketpair(OS.AF_UNIX, OS.SOCK_DGRAM, 0, sv)).toBe(0);
  const port = { kind: "dgram" as const, fd: sv[0]!, ifname: "", close: () => {} };
  const proc = await createVzBackend(["/no/vmlan"], { lib: () => lib }).start(config({ nics: [{ mac: "02:00:00:00:00:09", port }], console: { kind: "stdio", stdio: "inherit" } }));
  const copy = c.nicFds[0]!;
  expect(copy).not.toBe(sv[0]);
  libc().close(sv[0]!); // launch.ts closes its copy right after start
  expect(fstatSync(copy).isSocket()).toBe(true); // the VM's copy lives on
  proc.stop!(true);
  expect(await proc.exited).toBe(0);
  expect(calls.filter((x) => x[0] === "stop")).toEqual([["stop", 1]]);
  expect(() => fstatSync(copy)).toThrow();
  libc().close(sv[1]!);
});
