// Published ports over a real SQLite store: who wins a host port, what is refused before anything is
// stored, and what reaches the platform. The platform here records what it is asked to do; the
// kernel side runs for real in test/integration/ports/.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store } from "../../../../src/core/store/store.ts";
import { LeaseService } from "../../../../src/core/leases.ts";
import { PortService } from "../../../../src/core/ports/service.ts";
import { parsePortSpec, parsePortSpecs } from "../../../../src/core/ports/spec.ts";
import type { PortRule } from "../../../../src/core/ports/state.ts";
import type { PortHolder, PortPublisher } from "../../../../src/platform/types.ts";
import { ConflictError, NotFoundError, UsageError } from "../../../../src/core/errors.ts";
import { addNetwork } from "../../../support/memory.ts";

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function setup(o: { holder?: PortHolder | null } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "vmlan-ports-"));
  dirs.push(dir);
  const store = new Store(join(dir, "vmlan.db"));
  addNetwork(store, "lab", "10.1.0.0/24", { subnetV6: "fd01::/64" });
  addNetwork(store, "other", "10.2.0.0/24");
  const synced: { network: string; rules: PortRule[] }[] = [];
  const host: PortPublisher = {
    syncPorts: async (spec, rules) => { synced.push({ network: spec.name, rules }); },
    instance: (spec) => `${spec.bridge}#1`,
    probeHostPort: () => o.holder ?? null,
    withLock: (_path, fn) => fn(),
  };
  const leases = new LeaseService(store);
  let clock = Date.parse("2026-01-01T00:00:00Z");
  const now = () => new Date((clock += 1000)).toISOString();
  return { store, leases: new LeaseService(store, now), ports: new PortService(store, host, { now }), synced, host, plain: leases };
}
const specs = (...s: string[]) => parsePortSpecs(s);

describe("PortService", () => {
  test("add publishes an attached id's ports; the kernel gets its network's rules; add again is unchanged", async () => {
    const s = setup();
    s.leases.attach({ network: "lab", id: "web" });
    const r = await s.ports.add("lab", "web", specs("8080:80", "[::]:8443:443"));
    expect(r.added.map((p) => [p.spec, p.state])).toEqual([["127.0.0.1:8080:80/tcp", "active"], ["[::]:8443:443/tcp", "active"]]);
    expect(s.synced.at(-1)!.rules.map((x) => x.guestAddress)).toEqual([s.leases.get("lab", "web").address!, s.leases.get("lab", "web").addressV6!]);
    const again = await s.ports.add("lab", "web", specs("8080:80"));
    expect([again.added.length, again.unchanged.length]).toEqual([0, 1]);
  });

  test("refusals come before anything is stored: bad network, no attachment, no IPv6, taken ports", async () => {
    const s = setup();
    s.leases.attach({ network: "lab", id: "web" });
    s.leases.attach({ network: "other", id: "db" });
    await s.ports.add("lab", "web", specs("8080:80"));
    await expect(s.ports.add("nope", "web", specs("1:1"))).rejects.toBeInstanceOf(NotFoundError);
    await expect(s.ports.add("lab", "ghost", specs("1:1"))).rejects.toThrow('no attachment "ghost" on network "lab"');
    await expect(s.ports.add("other", "db", specs("[::]:9000:80"))).rejects.toThrow('network "other" has no IPv6 prefix');
    // Host ports are host-wide: another network's attachment cannot take 0.0.0.0:8080 while 127.0.0.1:8080 is published.
    await expect(s.ports.add("other", "db", specs("9001:80", "0.0.0.0:8080:80"))).rejects.toThrow('is already published by "web" on "lab" (127.0.0.1:8080:80/tcp)');
    await expect(s.ports.add("lab", "web", specs("8080:81"))).rejects.toThrow("remove it first");
    expect(s.store.ports.list("other")).toEqual([]); // 9001 was not stored either: nothing half applied
  });

  test("a port another program holds is a conflict naming it", async () => {
    const s = setup({ holder: { pid: 4242, program: "nginx" } });
    s.leases.attach({ network: "lab", id: "web" });
    const e = await s.ports.add("lab", "web", specs("8080:80")).catch((x) => x);
    expect(e).toBeInstanceOf(ConflictError);
    expect(e.message).toBe("host port 127.0.0.1:8080:80/tcp is in use by nginx (pid 4242)");
  });

  test("detached: inactive and out of the kernel; attached again: back", async () => {
    const s = setup();
    s.leases.attach({ network: "lab", id: "web" });
    await s.ports.add("lab", "web", specs("8080:80"));
    s.leases.detach("lab", "web");
    expect(s.ports.list("lab").map((p) => [p.state, p.detail])).toEqual([["inactive", '"web" is not attached']]);
    await s.ports.sync();
    expect(s.synced.at(-1)).toEqual({ network: "lab", rules: [] });
    s.leases.attach({ network: "lab", id: "web" });
    expect(s.ports.list("lab")[0]!.state).toBe("active");
  });

  test("a contested port goes to the attachment active first; when it leaves, the other gets it", async () => {
    const s = setup();
    s.leases.attach({ network: "lab", id: "a" });
    await s.ports.add("lab", "a", specs("8080:80"));
    s.leases.detach("lab", "a");
    s.leases.attach({ network: "other", id: "b" });
    await s.ports.add("other", "b", specs("0.0.0.0:8080:80")); // a is not attached: free
    s.leases.attach({ network: "lab", id: "a" }); // a comes back later than b
    const byId = () => Object.fromEntries(s.ports.list().map((p) => [p.id, p.state]));
    expect(byId()).toEqual({ a: "conflict", b: "active" });
    expect(s.ports.list("lab")[0]!.detail).toBe('host port held by "b" on "other" (0.0.0.0:8080:80/tcp)');
    await s.ports.remove("other", "b", "all");
    expect(byId()).toEqual({ a: "active" });
    expect(s.synced.some((x) => x.network === "lab" && x.rules.length === 1)).toBe(true); // the freed port reached lab's rules
  });

  test("remove: by binding, every spec must exist (nothing removed otherwise), --all; set replaces", async () => {
    const s = setup();
    s.leases.attach({ network: "lab", id: "web" });
    await s.ports.add("lab", "web", specs("8080:80", "8081:81"));
    await expect(s.ports.remove("lab", "web", specs("8080:80", "9999:1"))).rejects.toBeInstanceOf(NotFoundError);
    expect(s.store.ports.list("lab")).toHaveLength(2);
    expect((await s.ports.remove("lab", "web", [parsePortSpec("127.0.0.1:8080:1")])).map((p) => p.spec)).toEqual(["127.0.0.1:8080:80/tcp"]);
    await s.ports.set("lab", "web", specs("9000-9001:80-81/udp"));
    expect(s.store.ports.list("lab").map((p) => `${p.hostPort}-${p.hostEnd}/${p.proto}`)).toEqual(["9000-9001/udp"]);
    expect(await s.ports.remove("lab", "web", "all")).toHaveLength(1);
  });

  test("ports go with their attachment: a reclaimed claim or a removed network takes them along", async () => {
    const s = setup();
    s.leases.attach({ network: "lab", id: "web" });
    await s.ports.add("lab", "web", specs("8080:80"));
    s.store.tx(() => s.store.deleteLease("lab", "web"));
    expect(s.store.ports.list()).toEqual([]);
  });

  test("a bridged network publishes nothing: its guests are on the LAN at their own address", async () => {
    const s = setup();
    addNetwork(s.store, "lan", "10.3.0.0/24", { mode: "bridged", uplink: "eth9" });
    s.leases.attach({ network: "lan", id: "vm" });
    await expect(s.ports.add("lan", "vm", specs("8080:80"))).rejects.toThrow('network "lan" is bridged: its guests are on the LAN at their own address');
    await expect(s.ports.preflight("lan", "vm", specs("8080:80"))).rejects.toBeInstanceOf(UsageError);
  });

  test("two syncs at once in one process finish (the cross-process flock is taken one at a time here)", async () => {
    const { withFileLock } = await import("../../../../src/platform/linux/lock.ts");
    const s = setup();
    s.host.withLock = withFileLock; // the real lock: a second flock from this process would block its only thread
    s.leases.attach({ network: "lab", id: "web" });
    await s.ports.add("lab", "web", specs("8080:80"));
    const both = await Promise.all([s.ports.sync(undefined, { force: true }), s.ports.sync(undefined, { force: true })]);
    expect(both.map((r) => r.length)).toEqual([2, 2]);
  });

  test("sync spawns nothing when the kernel has the rules already, and again after the host side changed", async () => {
    const s = setup();
    s.leases.attach({ network: "lab", id: "web" });
    await s.ports.add("lab", "web", specs("8080:80"));
    const n = s.synced.length;
    await s.ports.sync();
    expect(s.synced.length).toBe(n); // unchanged: no nft
    s.host.instance = (spec) => `${spec.bridge}#2`; // the bridge was recreated
    await s.ports.sync();
    expect(s.synced.length).toBe(n + 1);
    await s.ports.sync(undefined, { force: true });
    expect(s.synced.length).toBe(n + 2);
  });
});
