/**
 * Opens many connections to a broker and holds them (run inside a test namespace, as any uid):
 *   bun test/support/broker-flood.ts --socket S --connections N
 * Each connection asks for `status`; prints "flood <json>": how many were served (and are held
 * open), refused with ELIMIT, or failed otherwise (by error code); then holds them until SIGTERM.
 */
import { parseArgs } from "node:util";
import { BrokerClient } from "../../src/broker/client.ts";
import { assertInTestNetns } from "./netns.ts";

assertInTestNetns();
const { values: o } = parseArgs({ options: { socket: { type: "string" }, connections: { type: "string", default: "100" } } });
const held: BrokerClient[] = [];
let refused = 0;
const other: Record<string, number> = {};
for (let i = 0; i < Number(o.connections); i++) {
  let c: BrokerClient;
  try {
    c = BrokerClient.connect(o.socket!);
  } catch (e) {
    other.connect = (other.connect ?? 0) + 1;
    continue;
  }
  try {
    c.call("status", {});
    held.push(c);
  } catch (e) {
    const code = (e as { code?: string }).code ?? "unknown";
    if (code === "ELIMIT") refused++;
    else other[code] = (other[code] ?? 0) + 1;
    c.close();
  }
}
process.stdout.write(`flood ${JSON.stringify({ connections: Number(o.connections), open: held.length, refused, other })}\n`);
process.on("SIGTERM", () => process.exit(0));
setInterval(() => {}, 1 << 30);
