/**
 * Pool starvation through the compiled binary (issue #12 item 1): a guest floods DHCP from
 * hundreds of made-up MACs; known ids, `vmlan attach` and real clients must still get addresses,
 * also while the daemon is down, and no address may be handed out twice.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { BUN } from "../../support/netns.ts";
import { Host, removeScriptDir, udhcpc } from "./support.ts";

const TIMEOUT_MS = 60_000;
let host: Host;
type Att = { id: string; mac: string; address: string; state: string };

beforeAll(async () => {
  host = new Host();
  await host.ok("system", "start");
  await host.ok("network", "create", "pool", "--subnet", "10.91.4.0/24");
  await host.waitLog(/dhcp\[pool\]: listening/);
}, TIMEOUT_MS);

afterAll(async () => {
  await host?.close();
  removeScriptDir();
}, TIMEOUT_MS);

test("a flood of 300 unknown MACs (half of them REQUESTing) leaves known ids, attach and real clients their addresses", async () => {
  const known = await host.json<Att>("attach", "pool", "--id", "known");
  await host.ok("detach", "pool", "--id", "known"); // a released claim: sticky, not active
  // The flooding guest's own address is an attachment, so no lease can land on it.
  await host.ok("attach", "pool", "--id", "flooder", "--ip", "10.91.4.254");
  const flooder = host.cable("vl-pool", "f1", "02:91:04:00:00:fe");
  flooder.sh(["ip", "addr", "add", "10.91.4.254/24", "dev", "eth0"]);
  const r = flooder.run([BUN, "test/integration/services/dhcp-flood.ts", "10.91.4.1", "300", "12", "2"]);
  expect(r.code, r.stderr).toBe(0);
  const flood = JSON.parse(r.stdout) as { offers: number; acks: number; acked: string[] };
  expect(flood.offers).toBeGreaterThan(200); // the flood was served...
  expect(new Set(flood.acked).size).toBe(flood.acked.length); // ...never one address twice...
  expect(flood.offers).toBeLessThanOrEqual(253 - 15 - 1); // ...up to the reserve (and never the flooder's own address)

  const fresh = await host.json<Att>("attach", "pool", "--id", "fresh");
  expect(flood.acked).not.toContain(fresh.address.split("/")[0]);
  const guest = host.cable("vl-pool", "k1", known.mac);
  const { lease, output } = udhcpc(guest);
  expect(lease?.ip, output).toBe(known.address.split("/")[0]); // its sticky address, not a stranger's

  // The daemon down: allocation itself takes back what offers hold (more ids than the reserve).
  process.kill(host.daemonPid()!, "SIGKILL");
  for (let i = 0; i < 20; i++) await host.ok("attach", "pool", "--id", `late${i}`);
  const all = await host.json<Att[]>("attachments", "pool");
  const addrs = all.map((a) => a.address);
  expect(new Set(addrs).size).toBe(addrs.length);
  expect(all.filter((a) => a.id.startsWith("mac-")).length).toBe(flood.acks); // every ACKed lease is there, none lost
}, TIMEOUT_MS);
