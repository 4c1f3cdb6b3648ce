/**
 * A broker client for tests, run inside a test namespace:
 *   bun test/support/broker-client.ts --socket S --connections N --networks a,b [--release K]
 *       opens N connections, connection i acquires networks[i % len]; then releases on the first
 *       K connections; prints "held <json>" and stays until killed (SIGKILL tests the broker's cleanup).
 *   bun test/support/broker-client.ts --socket S --guest NET --ip A --mac M [--ping T --via GW]
 *       acquires NET with a TAP fd and runs test/support/fake-guest.ts on it (as fd 3).
 */
import { parseArgs } from "node:util";
import { BrokerClient } from "../../src/broker/client.ts";
import { assertInTestNetns } from "./netns.ts";

assertInTestNetns();
const { values: o } = parseArgs({
  options: {
    socket: { type: "string" }, connections: { type: "string", default: "1" }, networks: { type: "string" }, release: { type: "string", default: "0" },
    guest: { type: "string" }, ip: { type: "string" }, mac: { type: "string" }, ping: { type: "string" }, via: { type: "string" },
  },
});

if (o.guest) {
  const client = BrokerClient.connect(o.socket!);
  const { result, tapFd } = client.acquire(o.guest, true);
  const argv = [process.execPath, `${import.meta.dir}/fake-guest.ts`, "--fd", "3", "--ip", o.ip!, "--mac", o.mac!];
  if (o.ping) argv.push("--ping", o.ping, "--via", o.via ?? result.network.gateway);
  const guest = Bun.spawn(argv, { stdio: ["ignore", "inherit", "inherit", tapFd!], env: process.env });
  process.on("SIGTERM", () => guest.kill("SIGTERM"));
  process.exit(await guest.exited);
} else {
  const nets = o.networks!.split(",");
  const clients = Array.from({ length: Number(o.connections) }, () => BrokerClient.connect(o.socket!));
  clients.forEach((c, i) => c.acquire(nets[i % nets.length]!));
  for (const c of clients.slice(0, Number(o.release))) c.release(nets[clients.indexOf(c) % nets.length]!);
  process.stdout.write(`held ${JSON.stringify({ pid: process.pid, connections: clients.length, released: Number(o.release) })}\n`);
  setInterval(() => {}, 1 << 30);
  process.on("SIGTERM", () => process.exit(0));
}
