import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { Store } from "../../../../src/core/store/store.ts";
import { LeaseService } from "../../../../src/core/leases.ts";
import { MIGRATIONS } from "../../../../src/core/store/migrations.ts";
import { addNetwork } from "../../../support/memory.ts";
import { vmlanBin } from "../../../support/binary.ts";

const dir = mkdtempSync(join(tmpdir(), "vmlan-store-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("store", () => {
  test("records survive reopening (a restart) with the same sticky lease", () => {
    const path = join(dir, "reopen.db");
    let s = new Store(path);
    addNetwork(s, "n", "10.10.0.0/24", { subnetV6: "fd00:10::/64", labels: { team: "a" } });
    const a = new LeaseService(s).attach({ network: "n", id: "vm" }).attachment;
    s.close();
    s = new Store(path);
    expect(s.getNetwork("n")).toMatchObject({ subnet: "10.10.0.0/24", subnetV6: "fd00:10::/64", labels: { team: "a" } });
    expect(new LeaseService(s).attach({ network: "n", id: "vm" }).attachment).toMatchObject({ address: a.address, mac: a.mac, addressV6: a.addressV6 });
    expect(s.schemaVersion()).toBe(MIGRATIONS.length);
    s.close();
  });

  test("the backend serialization blob round-trips", () => {
    const s = new Store(join(dir, "blob.db"));
    addNetwork(s, "n", "10.11.0.0/24");
    s.setBackend("n", new Uint8Array([1, 2, 3, 255]));
    expect([...s.getBackend("n")!]).toEqual([1, 2, 3, 255]);
    s.close();
  });

  test("a store from a newer vmlan is refused, not rewritten", () => {
    const path = join(dir, "newer.db");
    new Store(path).close();
    const db = new Database(path);
    db.run(`PRAGMA user_version = ${MIGRATIONS.length + 5}`);
    db.close();
    expect(() => new Store(path)).toThrow(/newer than this vmlan understands/);
  });

  test("a corrupted row is reported as a store error naming it", () => {
    const path = join(dir, "bad.db");
    const s = new Store(path);
    addNetwork(s, "n", "10.12.0.0/24");
    s.close();
    const db = new Database(path);
    db.run("UPDATE networks SET mode = 'routed' WHERE name = 'n'");
    db.close();
    expect(() => new Store(path).getNetwork("n")).toThrow(/stored network "n" is invalid/);
  });

  test("50 processes attaching at once get 50 distinct addresses", async () => {
    const stateDir = join(dir, "concurrent");
    const s = new Store(join(stateDir, "vmlan.db"));
    addNetwork(s, "busy", "10.20.0.0/24");
    s.close();
    const procs = Array.from({ length: 50 }, (_, i) =>
      Bun.spawn([vmlanBin(), "attach", "busy", "--id", `vm${i}`, "--format", "json"], { env: { ...process.env, VMLAN_STATE_DIR: stateDir }, stdout: "pipe", stderr: "pipe" }),
    );
    const outs = await Promise.all(procs.map(async (p) => ({ code: await p.exited, out: await new Response(p.stdout).text(), err: await new Response(p.stderr).text() })));
    for (const o of outs) expect(o).toMatchObject({ code: 0, err: "" });
    const addrs = outs.map((o) => JSON.parse(o.out).address as string);
    expect(new Set(addrs).size).toBe(50);
    const reopened = new Store(join(stateDir, "vmlan.db"));
    expect(reopened.listLeases("busy").map((l) => l.id).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `vm${i}`).sort());
    reopened.close();
  }, 120_000);

  test("4 processes attaching 250 ids each at once, one transaction each: 1,000 distinct addresses", async () => {
    const path = join(dir, "bursts.db");
    const s = new Store(path);
    addNetwork(s, "b", "10.31.0.0/20");
    s.close();
    const procs = ["p", "q", "r", "s"].map((prefix) =>
      Bun.spawn([process.execPath, join(import.meta.dir, "../../../support/attach-burst.ts"), path, "b", "250", prefix], { stdout: "pipe", stderr: "pipe" }));
    const outs = await Promise.all(procs.map(async (p) => ({ code: await p.exited, err: await new Response(p.stderr).text() })));
    for (const o of outs) expect(o).toEqual({ code: 0, err: "" });
    const db = new Database(path);
    expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    expect(db.query("SELECT count(*) AS n, count(DISTINCT addr) AS addrs, count(DISTINCT mac) AS macs, count(DISTINCT hostname) AS names FROM attachments").get())
      .toEqual({ n: 1000, addrs: 1000, macs: 1000, names: 1000 });
    db.close();
  }, 60_000);

  test("a process killed with SIGKILL in the middle of attaching leaves a consistent store", async () => {
    const path = join(dir, "killed.db");
    const s = new Store(path);
    addNetwork(s, "k", "10.30.0.0/16");
    s.close();
    for (const delay of [150, 400]) {
      const p = Bun.spawn([process.execPath, join(import.meta.dir, "../../../support/attach-loop.ts"), path, "k"], { stdout: "pipe" });
      const reader = p.stdout.getReader();
      await reader.read(); // "ready"
      await Bun.sleep(delay);
      p.kill("SIGKILL");
      await p.exited;
      const db = new Database(path);
      expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
      const dup = db.query("SELECT addr, count(*) c FROM attachments GROUP BY network, addr HAVING c > 1").all();
      expect(dup).toEqual([]);
      db.close();
      const after = new Store(path);
      const leases = new LeaseService(after);
      const before = after.listLeases("k").length;
      expect(before).toBeGreaterThan(0);
      const fresh = leases.attach({ network: "k", id: `after-${delay}` }).attachment;
      expect(after.listLeases("k", true).filter((l) => l.addr === after.getLease("k", `after-${delay}`)!.addr)).toHaveLength(1);
      expect(fresh.address).toStartWith("10.30.");
      after.close();
    }
  }, 60_000);
});
