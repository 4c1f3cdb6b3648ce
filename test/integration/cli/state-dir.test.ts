// The state dir is 0700 and the store (with its -wal and -shm files) 0600, whatever the umask and
// whatever was there before; a dir or store found more open is closed with one line saying so.
// Store-only commands: nothing here touches a network.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { vmlanBin } from "../../support/binary.ts";

const root = mkdtempSync(join(tmpdir(), "vmlan-statedir-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const mode = (p: string) => `0${(statSync(p).mode & 0o777).toString(8)}`;

/** `vmlan ARGS` under `umask`, with the state dir `dir`. */
function vmlanUmask(umask: string, dir: string, ...args: string[]) {
  const r = Bun.spawnSync(["sh", "-c", `umask ${umask}; exec "$0" "$@"`, vmlanBin(), ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", VMLAN_STATE_DIR: dir }, stdout: "pipe", stderr: "pipe",
  });
  return { exitCode: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe("state dir and store modes", () => {
  test.each(["000", "022", "077", "277"])("a fresh state dir under umask %s: dir 0700, store, -wal and -shm 0600, nothing said", (umask) => {
    const dir = join(root, `fresh-${umask}`, "state");
    const r = vmlanUmask(umask, dir, "attachments", "--all");
    expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
    expect(mode(dir)).toBe("0700");
    for (const f of ["vmlan.db", "vmlan.db-wal", "vmlan.db-shm"]) {
      if (f === "vmlan.db" || existsSync(join(dir, f))) expect({ f, mode: mode(join(dir, f)) }).toEqual({ f, mode: "0600" });
    }
  });

  test("a pre-existing 0755 state dir with a world-readable store from before: both closed, one line each", () => {
    const dir = join(root, "old");
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const db = new Database(join(dir, "vmlan.db"), { create: true });
    db.run("PRAGMA journal_mode = WAL");
    db.run("CREATE TABLE junk (x)"); // an old store's WAL and shared-memory files exist too
    chmodSync(join(dir, "vmlan.db"), 0o644);
    const r = vmlanUmask("022", dir, "network", "ls", "-q");
    db.close();
    expect(r.stderr.split("\n").filter(Boolean)).toEqual([
      `vmlan: state dir ${dir} was mode 0755; set to 0700 (it holds the store)`,
      `vmlan: ${join(dir, "vmlan.db")} was mode 0644; set to 0600`,
      ...(r.stderr.includes("vmlan.db-wal") ? [`vmlan: ${join(dir, "vmlan.db-wal")} was mode 0644; set to 0600`] : []),
      ...(r.stderr.includes("vmlan.db-shm") ? [`vmlan: ${join(dir, "vmlan.db-shm")} was mode 0644; set to 0600`] : []),
    ]);
    expect(r.exitCode).toBe(0);
    expect(mode(dir)).toBe("0700");
    expect(mode(join(dir, "vmlan.db"))).toBe("0600");
    const again = vmlanUmask("022", dir, "network", "ls", "-q"); // fixed once, then silent
    expect(again.stderr).toBe("");
  });

  test("a state dir that is a file, or belongs to another user, is refused (exit 7) and left alone", () => {
    const file = join(root, "afile");
    writeFileSync(file, "x");
    const r = vmlanUmask("022", file, "network", "ls");
    expect(r.exitCode).toBe(7);
    expect(r.stderr).toContain(`state dir ${file} exists and is not a directory`);
    const theirs = join(root, "theirs");
    mkdirSync(theirs, { mode: 0o755 });
    chmodSync(theirs, 0o755);
    chmodSync(root, 0o755);
    const asNobody = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", vmlanBin(), "network", "ls"], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", VMLAN_STATE_DIR: theirs, HOME: "/nonexistent" }, stderr: "pipe",
    });
    expect(asNobody.exitCode).toBe(7);
    expect(asNobody.stderr.toString()).toContain(`state dir ${theirs} belongs to uid 0, not to this user (uid 65534)`);
    expect(mode(theirs)).toBe("0755");
  });
});
