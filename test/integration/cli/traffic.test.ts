/**
 * Frames through networks that the compiled binary made: `vmlan network create` and `vmlan attach`
 * inside a test namespace, then fake guests (test/support/fake-guest.ts) on TAPs on the bridges,
 * with the address and MAC that vmlan allocated. "up" is an upstream namespace of the test's own.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { type Guest, startGuest } from "../../support/guests.ts";
import { createNetns, linkUpstream, type Netns } from "../../support/netns.ts";

let ns: Netns;
let up: Netns;
const guests: Guest[] = [];
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-traffic-"));
const UPSTREAM = "10.251.0.2";

async function vmlan(...args: string[]) {
  const r = await runVmlan(args, { env: { VMLAN_STATE_DIR: stateDir }, netns: ns.name });
  if (r.exitCode !== 0) throw new Error(`vmlan ${args.join(" ")} failed (${r.exitCode}): ${r.stderr}`);
  return r.stdout;
}

/** Attaches `id` through the binary and starts a fake guest with the lease it got. */
async function guestOn(network: string, id: string, ping?: string): Promise<{ guest: Guest; address: string }> {
  const a = JSON.parse(await vmlan("attach", network, "--id", id, "--format", "json"));
  const guest = await startGuest(ns, { bridge: `vl-${network}`, ip: a.address, mac: a.mac, ...(ping ? { ping, via: a.gateway, timeoutMs: 1500 } : {}) });
  guests.push(guest);
  return { guest, address: a.address };
}

beforeAll(async () => {
  ns = createNetns();
  up = createNetns();
  linkUpstream(ns, up, { nsIf: "wan0", upIf: "eth0", nsAddr: "10.251.0.1", upAddr: UPSTREAM, prefix: 30 });
  await vmlan("system", "start");
  await vmlan("network", "create", "nat", "--subnet", "10.90.1.0/24", "--mode", "shared");
  await vmlan("network", "create", "lab", "--subnet", "10.90.2.0/24", "--mode", "host");
});

afterAll(async () => {
  await Promise.all(guests.map((g) => g.stop()));
  ns?.delete();
  up?.delete();
  rmSync(stateDir, { recursive: true, force: true });
});

test("a guest with the attached address answers ping from the host side (default network)", async () => {
  const { address } = await guestOn("default", "pinged");
  expect(address).toBe("192.168.64.2");
  expect(ns.run(["ping", "-c", "1", "-W", "2", address]).stdout).toContain("1 received");
});

test("guests on one network reach each other", async () => {
  const { address } = await guestOn("nat", "server");
  const { guest } = await guestOn("nat", "client", address);
  expect(await guest.waitFor("ping ")).toBe(`ping ok ${address}`);
});

test("shared mode reaches the upstream namespace through masquerade; host-only has no way out", async () => {
  const shared = await guestOn("nat", "out-shared", UPSTREAM);
  const hostOnly = await guestOn("lab", "out-host", UPSTREAM);
  const control = await guestOn("lab", "control", "10.90.2.1");
  expect(await shared.guest.waitFor("ping ")).toBe(`ping ok ${UPSTREAM}`);
  expect(await control.guest.waitFor("ping ")).toBe("ping ok 10.90.2.1"); // the host-only guest itself works
  expect(await hostOnly.guest.waitFor("ping ")).toBe(`ping fail ${UPSTREAM}`);
  // The upstream saw the namespace's own address, never the guest subnet: that is the masquerade.
  const conntrack = ns.run(["cat", "/proc/net/nf_conntrack"]).stdout;
  expect(conntrack).toMatch(new RegExp(`src=${shared.address.replaceAll(".", "\\.")} dst=${UPSTREAM.replaceAll(".", "\\.")} .* src=${UPSTREAM.replaceAll(".", "\\.")} dst=10\\.251\\.0\\.1`));
});

test("two networks cannot reach each other", async () => {
  const target = await guestOn("lab", "isolated-target");
  const { guest } = await guestOn("nat", "prober", target.address);
  expect(await guest.waitFor("ping ")).toBe(`ping fail ${target.address}`);
  const back = await guestOn("lab", "prober-back", "10.90.1.2");
  expect(await back.guest.waitFor("ping ")).toBe("ping fail 10.90.1.2");
});
