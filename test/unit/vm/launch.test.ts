/**
 * src/vm/launch.ts with a real in-memory store and a VM backend that starts nothing: leases are
 * taken with id = VM name and released (sticky) when the VM ends, stale records are cleaned up,
 * a running name is refused, and vmlan's copies of the NIC fds are closed after the start.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addNetwork, services } from "../../support/memory.ts";
import { listVms, startVm, stopVm, type VmDeps } from "../../../src/vm/launch.ts";
import { VmRegistry } from "../../../src/vm/registry.ts";
import { parseVmRequest } from "../../../src/vm/spec.ts";
import type { HypervisorConfig, VmBackend } from "../../../src/vm/backend.ts";

const dir = mkdtempSync(join(tmpdir(), "vmlan-launch-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const kernel = join(dir, "vmlinuz"); // --kernel must name a readable file (checked before attaching)
writeFileSync(kernel, "");

function fake() {
  const live = new Set<number>();
  const closed: number[] = [];
  const started: HypervisorConfig[] = [];
  let nextPid = 40_000;
  let nextFd = 100;
  const backend: VmBackend = {
    accel: () => ({ accel: "tcg", reason: "test" }),
    openNic: async (o) => {
      const fd = nextFd++;
      return { kind: o.attachment === "helper" ? "dgram" : "tap", fd, ifname: `vlt${fd}`, close: () => closed.push(fd) };
    },
    start: async (cfg) => {
      started.push(cfg);
      const pid = nextPid++;
      live.add(pid);
      return { pid };
    },
    ensureInstalled: () => {},
    alive: (pid) => live.has(pid),
  };
  return { backend, live, closed, started };
}

function setup(name: string) {
  const { store, networks, leases } = services();
  addNetwork(store, "lan", "10.5.0.0/24");
  addNetwork(store, "lab", "10.6.0.0/24");
  const f = fake();
  const deps: VmDeps = { networks, leases, backend: f.backend, registry: new VmRegistry(join(dir, name)), log: () => {} };
  return { deps, f, leases };
}

const req = (o: Record<string, unknown> = {}) => parseVmRequest({ name: "g1", networks: ["lan", "lab"], cpus: 1, memoryMb: 256, kernel, detach: true, ...o });

test("one lease per network with id = VM name; the kernel command line carries them; fds closed after start", async () => {
  const { deps, f, leases } = setup("start");
  const { record } = await startVm(req(), deps);
  expect(record.nics.map((n) => [n.network, n.address])).toEqual([["lan", "10.5.0.2"], ["lab", "10.6.0.2"]]);
  expect(leases.get("lan", "g1").mac).toBe(record.nics[0]!.mac);
  expect(f.started[0]!.append).toContain(`vmlan.net=${record.nics[0]!.mac},10.5.0.2/24,10.5.0.1`);
  expect(f.started[0]!.nics.map((n) => n.port.kind)).toEqual(["tap", "tap"]);
  expect(f.closed.sort()).toEqual(f.started[0]!.nics.map((n) => n.port.fd).sort());
  expect(deps.registry.get("g1")).toMatchObject({ pid: record.pid, supervisorPid: null });
});

test("a running name is refused; stop releases the leases and the same name gets the same address and MAC", async () => {
  const { deps, f, leases } = setup("restart");
  const first = (await startVm(req(), deps)).record;
  await expect(startVm(req(), deps)).rejects.toThrow(/already running/);
  f.live.delete(first.pid); // the fake pid is nobody's: pretend QEMU already exited, so stop sends no signal
  expect((await stopVm("g1", deps)).name).toBe("g1");
  expect(leases.list("lan")).toEqual([]);
  expect(deps.registry.get("g1")).toBeNull();
  const second = (await startVm(req(), deps)).record;
  expect(second.nics.map((n) => [n.address, n.mac])).toEqual(first.nics.map((n) => [n.address, n.mac]));
});

test("list drops records of dead VMs and releases their leases; a start failure releases what it took", async () => {
  const { deps, f, leases } = setup("stale");
  const a = (await startVm(req({ name: "a" }), deps)).record;
  await startVm(req({ name: "b" }), deps);
  f.live.delete(a.pid);
  expect(listVms(deps).map((v) => v.name)).toEqual(["b"]);
  expect(leases.list("lan").map((l) => l.id)).toEqual(["b"]);
  f.backend.start = async () => { throw new Error("qemu failed"); };
  await expect(startVm(req({ name: "c" }), deps)).rejects.toThrow("qemu failed");
  // Not even a released claim: the store is as the failed start found it.
  expect(leases.list("lan", true).map((l) => l.id)).toEqual(["a", "b"]);
  await expect(startVm(req({ name: "d", networks: ["lan", "nope"] }), deps)).rejects.toThrow(/nope/);
  expect(leases.list("lan", true).map((l) => l.id)).toEqual(["a", "b"]);
  f.backend.preflight = () => { throw new Error("qemu-system-x86_64 not found"); };
  await expect(startVm(req({ name: "e" }), deps)).rejects.toThrow("not found");
  expect(leases.list("lan", true).map((l) => l.id)).toEqual(["a", "b"]);
});

test("a VM's leases are owned by vm run, and by the hypervisor once a detached VM runs", async () => {
  const { deps } = setup("owners");
  deps.owners = { self: () => ({ pid: process.pid, start: "me" }), of: (pid) => ({ pid, start: "qemu" }) };
  const fg = (await startVm(req({ name: "fg", detach: false, console: join(dir, "fg.log") }), deps)).record;
  expect(deps.leases.store.owners.get("lan", "fg")).toMatchObject({ pid: process.pid, start: "me" });
  const bg = (await startVm(req({ name: "bg" }), deps)).record;
  expect(deps.leases.store.owners.get("lan", "bg")).toMatchObject({ pid: bg.pid, start: "qemu" });
  expect(deps.leases.store.owners.get("lab", "bg")).toMatchObject({ pid: bg.pid, start: "qemu" });
  expect(fg.pid).not.toBe(bg.pid);
});
