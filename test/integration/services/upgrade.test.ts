/**
 * An upgrade while the services daemon runs: the package manager renames a new binary over the old
 * one. The daemon notices (within its reconcile period), stops its servers and starts again from the
 * new file in place: the same pid and pidfile, the running image now the new inode, DHCP and the
 * CNI fast path served by the new code, and `system stop` still stops it. Until then a plugin call is
 * declined, so the new plugin never runs through the old code.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { vmlanBin } from "../../support/binary.ts";
import { netnsPath } from "../../support/cni.ts";
import { createNetns, type Netns } from "../../support/netns.ts";
import { udhcpc } from "./support.ts";

const TIMEOUT_MS = 60_000;
const root = mkdtempSync(join(tmpdir(), "vmlan-upgrade-"));
const bin = join(root, "bin", "vmlan");
const stateDir = join(root, "state");
const env = { VMLAN_STATE_DIR: stateDir };
let host: Netns;
const guests: Netns[] = [];

/** The installed copy, run in the host namespace. */
function vmlan(args: string[], more: { stdin?: string; env?: Record<string, string> } = {}) {
  return host.run([bin, ...args], { stdin: more.stdin, env: { ...env, ...more.env } });
}
const ok = (args: string[]) => {
  const r = vmlan(args);
  if (r.code !== 0) throw new Error(`vmlan ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
};
const log = () => readFileSync(join(stateDir, "services.log"), "utf8");
const pidOfDaemon = () => Number(readFileSync(join(stateDir, "services.pid"), "utf8").trim());
const inode = (p: string) => statSync(p).ino;
/** The sockets a process holds open ("socket:[inode]" of each fd). */
function sockets(pid: number): Set<string> {
  const out = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (target.startsWith("socket:")) out.add(target);
    } catch {} // closed while we looked
  }
  return out;
}

async function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return;
    await Bun.sleep(50);
  }
  throw new Error(`timed out waiting for ${what}; services log:\n${log()}`);
}

/** What a package manager does: the new file next to the old, then renamed over it. */
function installNewBinary(): void {
  copyFileSync(vmlanBin(), `${bin}.new`);
  renameSync(`${bin}.new`, bin);
}

beforeAll(async () => {
  mkdirSync(join(root, "bin"), { recursive: true });
  copyFileSync(vmlanBin(), bin);
  host = createNetns();
  ok(["system", "start"]);
  ok(["network", "create", "up", "--subnet", "10.93.4.0/24"]);
  await waitFor("DHCP on the network", () => /dhcp\[up\]: listening/.test(log()));
}, TIMEOUT_MS);

afterAll(() => {
  try {
    vmlan(["system", "stop"]);
  } catch {}
  for (const g of guests) g.delete();
  host?.delete();
  rmSync(root, { recursive: true, force: true });
});

test("a replaced binary: the daemon starts again from it in place and serves as before", async () => {
  const pid = pidOfDaemon();
  const before = log().match(new RegExp(`running as pid ${pid}`, "g"))?.length ?? 0;
  expect(before).toBe(1);
  expect(inode(`/proc/${pid}/exe`)).toBe(inode(bin));
  const socketsBefore = sockets(pid);
  expect(socketsBefore.size).toBeGreaterThan(0);

  installNewBinary();
  // The old image's window: a plugin call is declined and runs in the plugin, never in the old code.
  const ctr = createNetns();
  guests.push(ctr);
  const conf = JSON.stringify({ cniVersion: "1.0.0", name: "up", type: "vmlan", network: "up", stateDir });
  const call = (id: string) => vmlan([], { stdin: conf, env: { CNI_COMMAND: "ADD", CNI_CONTAINERID: id, CNI_NETNS: netnsPath(ctr), CNI_IFNAME: id === "c1" ? "eth1" : "eth2", CNI_PATH: join(root, "bin"), VMLAN_DEBUG: "1" } });
  const early = call("c1");
  expect(early.code, early.stderr).toBe(0);
  expect(early.stderr).toMatch(/running here: the services daemon runs a vmlan binary that was replaced|served by the services daemon/);

  await waitFor("the daemon's second start", () => (log().match(new RegExp(`running as pid ${pid}`, "g"))?.length ?? 0) === 2);
  expect(log()).toContain(`${bin} was replaced (an upgrade): stopping, to start again from the new binary`);
  expect(pidOfDaemon()).toBe(pid);
  expect(inode(`/proc/${pid}/exe`)).toBe(inode(bin)); // the running image is the new file
  await waitFor("DHCP again", () => (log().match(/dhcp\[up\]: listening/g)?.length ?? 0) >= 2);
  // No socket of the old image stays open in the new one (a leaked fd per upgrade would add up).
  expect([...sockets(pid)].filter((s) => socketsBefore.has(s))).toEqual([]);

  // Served by the new image: DHCP for a guest, and the plugin's calls.
  const guest = createNetns();
  guests.push(guest);
  host.sh(["ip", "link", "add", "g1", "type", "veth", "peer", "name", "eth0", "netns", guest.name]);
  host.sh(["ip", "link", "set", "g1", "master", "vl-up", "up"]);
  guest.sh(["ip", "link", "set", "eth0", "address", "02:93:04:00:00:01", "up"]);
  const { lease, output } = udhcpc(guest);
  expect(lease?.ip, output).toMatch(/^10\.93\.4\.\d+$/);
  const late = call("c2");
  expect([late.code, late.stderr.trim()]).toEqual([0, "vmlan: served by the services daemon"]);

  // And it still stops.
  expect(ok(["system", "stop"])).toContain("stopped");
  await waitFor("the daemon to exit", () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  });
}, TIMEOUT_MS);
