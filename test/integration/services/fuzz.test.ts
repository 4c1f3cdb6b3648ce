/**
 * Fuzz (issue #12, "done means"): random and mutated DHCP, DNS (UDP and TCP) and router
 * solicitations from a hostile guest, bounded in count and time, against the running daemon; then
 * it must still be the same process, with no unexpected error in its log, a bounded log, and
 * answer real clients: udhcpc gets a lease, dig gets names (own and forwarded), a new guest's
 * kernel gets its SLAAC address. The seed is printed with every failure; VMLAN_FUZZ_SEED=N
 * replays one.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { BUN } from "../../support/netns.ts";
import { Host, removeScriptDir, slaacAddress, udhcpc } from "./support.ts";

const TIMEOUT_MS = 60_000;
const UPSTREAM = "10.252.6.2";
const SEED = Number(process.env.VMLAN_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32)) >>> 0 || 1;
let host: Host;
let resolver: { stop(): void };

beforeAll(async () => {
  host = new Host({ VMLAN_DNS_UPSTREAM: UPSTREAM });
  resolver = await host.startUpstream(UPSTREAM);
  await host.ok("system", "start");
  await host.ok("network", "create", "fuzz", "--subnet", "10.96.0.0/24", "--subnet-v6", "fd00:96::/64");
  await host.ok("attach", "fuzz", "--id", "web");
  await host.waitLog(/ra\[fuzz\]: listening/);
}, TIMEOUT_MS);

afterAll(async () => {
  resolver?.stop();
  await host?.close();
  removeScriptDir();
}, TIMEOUT_MS);

test(`the daemon survives ${4000} fuzzed DHCP, DNS and RA packets and serves real clients afterwards (seed ${SEED})`, async () => {
  const why = `seed ${SEED}: replay with VMLAN_FUZZ_SEED=${SEED}`;
  const pid = host.daemonPid();
  const linesBefore = host.log().split("\n").length;
  await host.ok("attach", "fuzz", "--id", "fuzzer", "--ip", "10.96.0.254");
  const fuzzer = host.cable("vl-fuzz", "z1", "02:96:00:00:00:fe");
  fuzzer.sh(["ip", "addr", "add", "10.96.0.254/24", "dev", "eth0"]);
  const r = fuzzer.run([BUN, "test/integration/services/fuzz-packets.ts", "10.96.0.1", "eth0", String(SEED), "4000", "15"]);
  expect(r.code, `${why}\n${r.stderr}`).toBe(0);
  const sent = JSON.parse(r.stdout) as { dhcp: number; dns: number; tcp: number; ra: number };
  expect(sent.dhcp + sent.dns, why).toBeGreaterThan(1000);

  expect(host.daemonPid(), why).toBe(pid);
  const status = await host.json<{ services: { running: boolean; pid: number } }>("system", "status");
  expect(status.services, why).toMatchObject({ running: true, pid });
  const added = host.log().split("\n").slice(linesBefore - 1);
  expect(added.filter((l) => /unexpected|crashed|cannot start/.test(l)), why).toEqual([]);
  expect(added.length, why).toBeLessThan(250); // rate-limited: thousands of packets, a few lines each kind

  const web = await host.json<{ address: string }>("attach", "fuzz", "--id", "web");
  const dig = (name: string) => host.ns.sh(["dig", "+time=3", "+tries=2", "+short", "@10.96.0.1", name]).trim();
  expect(dig("web.fuzz.vmlan"), why).toBe(web.address.split("/")[0]!);
  expect(dig("after.ttl60.example"), why).toBe("203.0.113.60");
  const guest = host.cable("vl-fuzz", "z2", "02:96:00:00:00:01");
  const { lease, output } = udhcpc(guest, { tries: 6 });
  expect(lease, `${why}\n${output}`).not.toBeNull();
  const six = await host.json<{ mac: string; addressV6: string }>("attach", "fuzz", "--id", "six");
  const v6guest = host.cable("vl-fuzz", "z3", six.mac);
  expect(await slaacAddress(v6guest, "fd00:96:"), why).toBe(six.addressV6);
}, TIMEOUT_MS);
