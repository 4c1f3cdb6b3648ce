/** Whom the macOS helper becomes after its vmnet interface started (src/platform/darwin/privileges.ts). */
import { expect, test } from "bun:test";
import { dropPrivileges, dropTarget, type Identity } from "../../../../src/platform/darwin/privileges.ts";

const root = (env: Identity["env"], o: Partial<Identity> = {}): Identity => ({ platform: "darwin", euid: 0, uid: 0, gid: 0, env, ...o });

test("root through sudo drops to SUDO_UID/SUDO_GID", () => {
  expect(dropTarget(root({ SUDO_UID: "501", SUDO_GID: "20" }))).toEqual({ uid: 501, gid: 20 });
});

test("not through sudo: the real ids; a root login keeps root", () => {
  expect(dropTarget(root({}, { uid: 502, gid: 20 }))).toEqual({ uid: 502, gid: 20 }); // setuid-root style
  expect(dropTarget(root({}))).toBeNull();
  expect(dropTarget(root({ SUDO_UID: "0", SUDO_GID: "0" }))).toBeNull(); // sudo from root
});

test("a partial or malformed sudo environment falls back to the real ids", () => {
  expect(dropTarget(root({ SUDO_UID: "501" }, { uid: 0 }))).toBeNull();
  expect(dropTarget(root({ SUDO_UID: "501", SUDO_GID: "x" }, { uid: 503, gid: 30 }))).toEqual({ uid: 503, gid: 30 });
  expect(dropTarget(root({ SUDO_UID: "-1", SUDO_GID: "20" }))).toBeNull();
  expect(dropTarget(root({ SUDO_UID: "4294967295", SUDO_GID: "20" }))).toBeNull(); // (uid_t)-1 is "no change"
});

test("nothing to do unless euid is 0 on macOS (Linux, and the vmnet double, never drop)", () => {
  expect(dropTarget(root({ SUDO_UID: "501", SUDO_GID: "20" }, { euid: 501 }))).toBeNull();
  expect(dropTarget(root({ SUDO_UID: "501", SUDO_GID: "20" }, { platform: "linux" }))).toBeNull();
  // The no-op path calls no libc at all and logs nothing.
  const log: string[] = [];
  expect(dropPrivileges((m) => log.push(m), root({ SUDO_UID: "501", SUDO_GID: "20" }, { platform: "linux" }))).toBeNull();
  expect(log).toEqual([]);
});
