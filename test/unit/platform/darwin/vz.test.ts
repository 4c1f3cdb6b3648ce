/**
 * The Virtualization.framework backend's marshalling (src/platform/darwin/vz.ts) against a fake shim:
 * the plan from a HypervisorConfig, the exact argument order and C values handed to each
 * vmlan_vz_config_* export of shims/vz.m, error text out of the caller buffer, and the exit mapping.
 * The shim itself only compiles and runs on a Mac (scripts/verify-macos.sh).
 */
import { expect, test } from "bun:test";
import type { Pointer } from "bun:ffi";
import { configure, cstr, ERR_CAP, errText, exitCodeOf, vzCmdline, vzPlan, type VzCalls } from "../../../../src/platform/darwin/vz.ts";
import type { HypervisorConfig, NicPort } from "../../../../src/vm/backend.ts";
import { vzSymbols } from "../../../../ffi/vz/symbols.ts";

const port = (fd: number, extra: object = {}): NicPort => ({ kind: "dgram", fd, ifname: "", close: () => {}, ...extra });
const cfg = (o: Partial<HypervisorConfig> = {}): HypervisorConfig => ({
  name: "t", accel: "vz", cpus: 2, memoryMb: 512, kernel: "/k/vmlinuz", initrd: "/k/initrd", append: "console=ttyS0 quiet vmlan.ip=10.0.0.2",
  disk: "/d/root.img", nics: [{ mac: "02:00:00:00:00:01", port: port(7) }], console: { kind: "stdio", stdio: "inherit" }, ...o,
});
const str = (b: unknown) => (b === null ? null : (b as Buffer).toString("latin1"));

test("the plan: hvc0 console, memory in bytes as uint64, a disk, a datagram-fd NIC", () => {
  const p = vzPlan(cfg(), { in: 0, out: 1 });
  expect(p).toEqual({
    kernel: "/k/vmlinuz", initrd: "/k/initrd", cmdline: "console=hvc0 quiet vmlan.ip=10.0.0.2", cpus: 2, memoryBytes: 536870912n,
    consoleIn: 0, consoleOut: 1, disks: [{ path: "/d/root.img", readOnly: false }], nics: [{ kind: "fd", fd: 7, mac: "02:00:00:00:00:01", mtu: 0 }],
  });
  expect(vzCmdline("quiet")).toBe("console=hvc0 quiet");
  expect(vzPlan(cfg({ initrd: undefined, disk: undefined }), { in: -1, out: 9 })).toMatchObject({ initrd: null, disks: [], consoleIn: -1, consoleOut: 9 });
});

test("a NIC on a network this process owns becomes a vmnet network attachment", () => {
  const p = vzPlan(cfg({ nics: [{ mac: "02:00:00:00:00:02", port: port(-1, { network: 0x1234 }) }, { mac: "02:00:00:00:00:03", port: port(8, { mtu: 9000 }) }] }), { in: 0, out: 1 });
  expect(p.nics).toEqual([{ kind: "network", network: 0x1234, mac: "02:00:00:00:00:02" }, { kind: "fd", fd: 8, mac: "02:00:00:00:00:03", mtu: 9000 }]);
});

test("refused before the shim is touched: a detached VM's deferred NIC, zero CPUs, tiny memory", () => {
  expect(() => vzPlan(cfg({ nics: [{ mac: "02:00:00:00:00:01", port: port(-1, { deferred: { network: "n", id: "t" } }) }] }), { in: 0, out: 1 })).toThrow(/detached VM's host process/);
  expect(() => vzPlan(cfg({ cpus: 0 }), { in: 0, out: 1 })).toThrow(/cpus/);
  expect(() => vzPlan(cfg({ memoryMb: 16 }), { in: 0, out: 1 })).toThrow(/memory/);
});

test("C strings are NUL-terminated; NULL stays null; error text stops at the NUL", () => {
  expect([...cstr("ab")!]).toEqual([97, 98, 0]);
  expect(cstr(null)).toBeNull();
  const err = new Uint8Array(ERR_CAP);
  err.set(new TextEncoder().encode("disk /x: No such file\0garbage"));
  expect(errText(err)).toBe("disk /x: No such file");
  expect(errText(new Uint8Array(4))).toBe("unknown error");
});

function fakeShim(fail?: string) {
  const calls: unknown[][] = [];
  const CFG = 0xc0ffee as Pointer;
  const rec = (name: string, ret: unknown) => (...a: unknown[]) => {
    calls.push([name, ...a.map((x) => (x instanceof Uint8Array && !(x instanceof Buffer) ? `<err ${x.length}>` : Buffer.isBuffer(x) ? str(x) : x))]);
    if (name === fail) {
      (a.at(-2) as Uint8Array).set(new TextEncoder().encode(`${name} said no\0`));
      return name === "vmlan_vz_config_new" ? null : -1;
    }
    return ret;
  };
  const shim = {
    vmlan_vz_config_new: rec("vmlan_vz_config_new", CFG), vmlan_vz_config_add_disk: rec("vmlan_vz_config_add_disk", 0),
    vmlan_vz_config_add_nic_fd: rec("vmlan_vz_config_add_nic_fd", 0), vmlan_vz_config_add_nic_network: rec("vmlan_vz_config_add_nic_network", 0),
    vmlan_vz_free: rec("vmlan_vz_free", undefined),
  } as unknown as VzCalls;
  return { calls, shim, CFG };
}

test("configure: the shim's exports in order, with the C argument lists of shims/vz.m", () => {
  const { calls, shim, CFG } = fakeShim();
  const plan = vzPlan(cfg({ nics: [{ mac: "02:00:00:00:00:01", port: port(7) }, { mac: "02:00:00:00:00:02", port: port(-1, { network: 0x5000 }) }] }), { in: 0, out: 1 });
  expect(configure(plan, shim)).toBe(CFG);
  expect(calls).toEqual([
    ["vmlan_vz_config_new", "/k/vmlinuz\0", "/k/initrd\0", "console=hvc0 quiet vmlan.ip=10.0.0.2\0", 2, 536870912n, 0, 1, `<err ${ERR_CAP}>`, ERR_CAP],
    ["vmlan_vz_config_add_disk", CFG, "/d/root.img\0", 0, `<err ${ERR_CAP}>`, ERR_CAP],
    ["vmlan_vz_config_add_nic_fd", CFG, 7, "02:00:00:00:00:01\0", 0, `<err ${ERR_CAP}>`, ERR_CAP],
    ["vmlan_vz_config_add_nic_network", CFG, 0x5000, "02:00:00:00:00:02\0", `<err ${ERR_CAP}>`, ERR_CAP],
  ]);
  // Each call has as many arguments as its declaration in ffi/vz/symbols.ts (the prototypes of shims/vz.m).
  for (const [name, ...args] of calls) expect(args.length).toBe(vzSymbols[name as keyof typeof vzSymbols].args.length);
});

test("configure: a refused step frees the configuration and throws the shim's text", () => {
  const { calls, shim, CFG } = fakeShim("vmlan_vz_config_add_nic_fd");
  expect(() => configure(vzPlan(cfg(), { in: 0, out: 1 }), shim)).toThrow("NIC 02:00:00:00:00:01: vmlan_vz_config_add_nic_fd said no");
  expect(calls.at(-1)).toEqual(["vmlan_vz_free", CFG]);
  const first = fakeShim("vmlan_vz_config_new");
  expect(() => configure(vzPlan(cfg(), { in: 0, out: 1 }), first.shim)).toThrow("vmlan_vz_config_new said no");
  expect(first.calls.length).toBe(1); // nothing to free
});

test("VM state → exit code: running is null; guest stop 0; error 1", () => {
  expect(exitCodeOf(1)).toBeNull(); // running
  expect(exitCodeOf(4)).toBeNull(); // starting
  expect(exitCodeOf(0)).toBe(0);
  expect(exitCodeOf(0x100 | 0)).toBe(0);
  expect(exitCodeOf(3)).toBe(1);
  expect(exitCodeOf(0x200 | 0)).toBe(1);
});
