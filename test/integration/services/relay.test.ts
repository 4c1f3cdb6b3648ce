/**
 * DHCP through a relay (issue #12 item 7): dnsmasq as a real relay agent (--dhcp-relay) in a
 * namespace with a leg on the network and a leg to a client namespace behind it; busybox udhcpc
 * there must get its lease through the relay (vmlan answers giaddr:67). A relay outside the
 * network's subnet is refused with a log line.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";
import { Host, removeScriptDir, udhcpc } from "./support.ts";

const TIMEOUT_MS = 30_000;
let host: Host;
let relay: Netns;
let client: Netns;
let agent: ReturnType<Netns["spawn"]>;

beforeAll(async () => {
  host = new Host();
  await host.ok("system", "start");
  await host.ok("network", "create", "relayed", "--subnet", "10.91.8.0/24");
  await host.waitLog(/dhcp\[relayed\]: listening/);
  // The relay: eth0 on the bridge (10.91.8.250 is an attachment, so no lease lands on it), cl0 towards
  // the client with the relay's address there (its giaddr) from the same subnet.
  await host.ok("attach", "relayed", "--id", "relay", "--ip", "10.91.8.250");
  await host.ok("attach", "relayed", "--id", "relay-downlink", "--ip", "10.91.8.249");
  relay = host.cable("vl-relayed", "rl0", "02:91:08:00:00:fa");
  relay.sh(["ip", "addr", "add", "10.91.8.250/24", "dev", "eth0"]);
  client = createNetns();
  host.guests.push(client);
  relay.sh(["ip", "link", "add", "cl0", "type", "veth", "peer", "name", "eth0", "netns", client.name]);
  relay.sh(["ip", "addr", "add", "10.91.8.249/32", "dev", "cl0"]);
  relay.sh(["ip", "link", "set", "cl0", "up"]);
  client.sh(["ip", "link", "set", "eth0", "address", "02:91:08:00:00:01", "up"]);
  agent = relay.spawn(["dnsmasq", "-d", "-k", "--port=0", "-u", "root", "--conf-file=/dev/null", "--pid-file=", "--dhcp-relay=10.91.8.249,10.91.8.1", "--interface=cl0", "--bind-interfaces"]);
  await Bun.sleep(300);
}, TIMEOUT_MS);

afterAll(async () => {
  agent?.kill();
  await agent?.exited;
  await host?.close();
  removeScriptDir();
}, TIMEOUT_MS);

test("a client behind a real relay (dnsmasq --dhcp-relay) gets its lease through the relay", async () => {
  const { lease, output } = udhcpc(client);
  expect(lease, output).not.toBeNull();
  const atts = await host.json<Array<{ id: string; address: string }>>("attachments", "relayed");
  expect(atts.find((a) => a.id === "mac-029108000001")?.address.split("/")[0]).toBe(lease!.ip);
  expect(lease).toMatchObject({ router: "10.91.8.1", serverid: "10.91.8.1" });
}, TIMEOUT_MS);

test("a relayed request from outside the subnet is refused with a log line", async () => {
  const code = `
    import { buildRequest } from "${process.cwd()}/test/unit/services/dhcp-packets.ts";
    const s = await Bun.udpSocket({}); // any port: dnsmasq holds 67 here
    s.send(buildRequest({ type: 1, mac: "02:91:08:00:00:02", giaddr: "10.99.0.1" }), 67, "10.91.8.1");
    await Bun.sleep(100); s.close();`;
  const r = relay.run([BUN, "-e", code]);
  expect(r.code, r.stderr).toBe(0);
  await host.waitLog(/DISCOVER from 02:91:08:00:00:02 via relay 10\.99\.0\.1: refused/);
}, TIMEOUT_MS);
