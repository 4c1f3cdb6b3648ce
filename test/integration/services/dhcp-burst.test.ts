/**
 * 250 DHCP clients booting at once on one network (`bench scale`'s dhcp part found a third of their
 * DISCOVERs dropped by the host's kernel: the server socket's default receive buffer holds about
 * 160). Real exchanges from a guest namespace (scripts/scale/dhcp-clients.ts, fresh MACs): every
 * client is bound and the host's kernel drops no datagram on the way to the daemon.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { BUN } from "../../support/netns.ts";
import { Host } from "./support.ts";

const TIMEOUT_MS = 45_000;
const CLIENTS = 250;
let host: Host;

beforeAll(async () => {
  host = new Host();
  await host.ok("system", "start");
  await host.ok("network", "create", "burst", "--subnet", "10.93.0.0/22", "--mode", "host");
  await host.waitLog(/dhcp\[burst\]: listening/);
}, TIMEOUT_MS);

afterAll(async () => {
  await host?.close();
}, TIMEOUT_MS);

/** The namespace's UDP receive-buffer drops (RcvbufErrors of /proc/net/snmp). */
function rcvbufErrors(ns: { sh(argv: string[]): string }): number {
  const [head, values] = ns.sh(["grep", "^Udp:", "/proc/net/snmp"]).trim().split("\n").map((l) => l.split(/\s+/));
  return Number(values![head!.indexOf("RcvbufErrors")]);
}

test(`${CLIENTS} clients at once: all bound, none of their datagrams dropped by the host`, async () => {
  await host.ok("attach", "burst", "--id", "clients", "--ip", "10.93.3.254");
  const guest = host.cable("vl-burst", "b1", "02:93:00:00:00:fe");
  guest.sh(["ip", "addr", "add", "10.93.3.254/22", "dev", "eth0"]);
  const before = rcvbufErrors(host.ns);
  const p = guest.spawn([BUN, join(import.meta.dir, "../../../scripts/scale/dhcp-clients.ts"), "10.93.0.1", String(CLIENTS), "1"]);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  expect(code, err).toBe(0);
  const r = JSON.parse(out) as { bound: number; retransmits: number };
  expect(rcvbufErrors(host.ns) - before).toBe(0);
  expect(r.bound).toBe(CLIENTS);
}, TIMEOUT_MS);
