/**
 * `vm run --detach` / `vm stop` with the Virtualization.framework backend, on Linux: launch.ts with the
 * real VZ backend whose spawn is swapped for one that records the host command (argv, env, options) and
 * starts a stand-in host (a real process that writes the pidfile and records the signal it gets), so
 * the registry record carries that pid and `vm stop` signals it. The host's side (runVzHost) runs here
 * with the VZ backend on a fake shim: networks brought up in-process, the vmnet attachment for a held
 * network, the pidfile as the ready signal, SIGTERM → vmlan_vz_stop, then exit.
 */
import { afterAll, expect, test } from "bun:test";
import type { Pointer } from "bun:ffi";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addNetwork, services } from "../../../support/memory.ts";
import { startVm, stopVm, type VmDeps } from "../../../../src/vm/launch.ts";
import { VmRegistry } from "../../../../src/vm/registry.ts";
import { parseVmRequest } from "../../../../src/vm/spec.ts";
import { createVzBackend, type VzLib } from "../../../../src/platform/darwin/vz.ts";
import { HOST_COMMAND, parseHostSpec, runVzHost, type Spawn, type VzHostSpec } from "../../../../src/platform/darwin/vz-host.ts";

const dir = mkdtempSync(join(tmpdir(), "vmlan-vzhost-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Boot files must exist: `vm run` checks them before it attaches anything.
const KERNEL = join(dir, "vmlinuz");
const INITRD = join(dir, "initrd");
writeFileSync(KERNEL, "");
writeFileSync(INITRD, "");

const SELF = ["/opt/vmlan/bin/vmlan"];
/** The stand-in host: ready = its pid in the pidfile; SIGTERM is written to MARK, then it exits. */
const HOST_SCRIPT = `const fs = require("fs");
process.on("SIGTERM", () => { fs.writeFileSync(process.env.MARK, "SIGTERM"); process.exit(0); });
if (process.env.FAIL) { console.error("error: vmnet refused the network"); process.exit(5); }
fs.writeFileSync(process.env.PIDFILE, process.pid + "\\n");
setInterval(() => {}, 1000);`;

function setup(name: string, o: { fail?: boolean } = {}) {
  const state = join(dir, name);
  const { store, networks, leases } = services();
  addNetwork(store, "lan", "10.5.0.0/24");
  const spawned: { argv: string[]; opts: Parameters<Spawn>[1] }[] = [];
  const released: string[] = [];
  const mark = join(state, "signal");
  const spawn: Spawn = (argv, opts) => {
    spawned.push({ argv, opts });
    const spec = JSON.parse(argv.at(-1)!) as VzHostSpec;
    return Bun.spawn([process.execPath, "-e", HOST_SCRIPT], {
      ...opts, env: { ...opts.env, PIDFILE: spec.pidfile, MARK: mark, ...(o.fail ? { FAIL: "1" } : {}) },
    }) as unknown as ReturnType<Spawn>;
  };
  const backend = createVzBackend(SELF, { major: 26, spawn, releaseNetwork: (n) => released.push(n) });
  const deps: VmDeps = { networks, leases, backend, registry: VmRegistry.inStateDir(state), log: () => {} };
  return { deps, spawned, released, mark, state, leases };
}

const req = (o: Record<string, unknown> = {}) => parseVmRequest({ name: "mac1", networks: ["lan"], cpus: 2, memoryMb: 512, kernel: KERNEL, initrd: INITRD, detach: true, attachment: "native", ...o });

test("vm run --detach: the host child's argv, env and options; the record carries its pid; vm stop signals it", async () => {
  const { deps, spawned, released, mark, state, leases } = setup("detach");
  const { record, proc } = await startVm(req(), deps);
  expect(spawned.length).toBe(1);
  const { argv, opts } = spawned[0]!;
  expect(argv.slice(0, 4)).toEqual([...SELF, "vm", HOST_COMMAND, "--spec"]);
  const spec = parseHostSpec(argv[4]!);
  const consoleLog = join(state, "vms", "mac1.console.log");
  expect(spec).toEqual({
    name: "mac1", kernel: KERNEL, initrd: INITRD, append: expect.stringContaining(`vmlan.net=${record.nics[0]!.mac},10.5.0.2/24`),
    cpus: 2, memoryMb: 512, disk: null, console: consoleLog, pidfile: join(state, "vms", "mac1.pid"),
    nics: [{ mac: record.nics[0]!.mac, network: "lan", id: "mac1" }],
  });
  expect(opts.detached).toBe(true); // own session: it outlives `vm run`
  expect(opts.stdio[0]).toBe("ignore");
  expect(opts.stdio[1]).toBe(opts.stdio[2]); // stdout and stderr: the console log
  expect(opts.env.VMLAN_STATE_DIR).toBe(state);
  expect(opts.env.PATH).toBe(process.env.PATH);
  expect(released).toEqual(["lan"]); // `vm run` lets go of the network so that the host can hold it
  expect(existsSync(consoleLog)).toBe(true);
  // The registry: the host's pid, no supervisor, no helpers of `vm run`'s own.
  expect(proc.pid).not.toBe(process.pid);
  expect(deps.registry.get("mac1")).toMatchObject({ pid: proc.pid, supervisorPid: null, accel: "vz", helperPids: [], console: consoleLog });
  expect(deps.backend.alive(proc.pid)).toBe(true);
  expect(leases.list("lan").length).toBe(1);
  await stopVm("mac1", deps);
  expect(readFileSync(mark, "utf8")).toBe("SIGTERM");
  expect(deps.backend.alive(proc.pid)).toBe(false);
  expect(deps.registry.get("mac1")).toBeNull();
  expect(leases.list("lan")).toEqual([]);
});

test("vm run --detach: a host that exits before it is ready fails the run with its last log line, leases released", async () => {
  const { deps, leases } = setup("fail", { fail: true });
  await expect(startVm(req(), deps)).rejects.toThrow(/exited \(status 5\) before the VM ran: error: vmnet refused the network/);
  expect(deps.registry.get("mac1")).toBeNull();
  expect(leases.list("lan")).toEqual([]);
});

test("the host process: networks up here, vmnet attachment for a held one, pidfile when running, SIGTERM stops the VM", async () => {
  const calls: unknown[][] = [];
  let state = 1;
  const lib = {
    vmlan_vz_supported: () => 1, vmlan_vz_config_new: () => 0xc0 as Pointer, vmlan_vz_config_add_disk: () => 0,
    vmlan_vz_config_add_nic_fd: (...a: unknown[]) => (calls.push(["nic_fd", a[1]]), 0),
    vmlan_vz_config_add_nic_network: (...a: unknown[]) => (calls.push(["nic_network", a[1]]), 0),
    vmlan_vz_start: () => 0xd0 as Pointer, vmlan_vz_state: () => state,
    vmlan_vz_stop: (_vm: unknown, force: number) => { calls.push(["stop", force]); state = 0x100; }, // the guest honours ACPI
    vmlan_vz_free: () => {},
  } as unknown as VzLib;
  const held = new Map<string, number>();
  const backend = createVzBackend(SELF, { major: 26, lib: () => lib, ownedNetwork: (n) => held.get(n) ?? null });
  const pidfile = join(dir, "host.pid");
  const spec: VzHostSpec = {
    name: "mac2", kernel: "/k", initrd: null, append: "quiet", cpus: 1, memoryMb: 256, disk: null, console: join(dir, "host.console.log"), pidfile,
    nics: [{ mac: "02:00:00:00:00:21", network: "lan", id: "mac2" }],
  };
  const ensured: string[] = [];
  let helpersStopped = false;
  const done = runVzHost(spec, {
    backend,
    ensureNetwork: async (n) => { ensured.push(n); held.set(n, 0x7000); return "br0"; }, // macOS 26: this process now holds it
    stopHelpers: async (vm) => { helpersStopped = vm.helpers.length === 0; },
    log: () => {},
  });
  for (let i = 0; i < 100 && !existsSync(pidfile); i++) await Bun.sleep(10);
  expect(readFileSync(pidfile, "utf8")).toBe(`${process.pid}\n`); // the ready signal `vm run --detach` waits for
  expect(ensured).toEqual(["lan"]);
  expect(calls).toEqual([["nic_network", 0x7000]]); // held here → VZVmnetNetworkDeviceAttachment, no helper
  process.emit("SIGTERM"); // what `vm stop` sends (emitted: a real signal would reach the test runner)
  expect(await done).toBe(0);
  expect(calls.at(-1)).toEqual(["stop", 0]);
  expect(helpersStopped).toBe(true);
  writeFileSync(pidfile, ""); // nothing else to clean up: the VM's handles are freed
});
