/**
 * Acquires TAPs from a broker and keeps their fds (run inside a test namespace):
 *   bun test/support/broker-taps.ts --socket S --network N --connections C --taps K [--release-one]
 * Each of C connections acquires N with a TAP K times; --release-one then releases one hold on the
 * first connection (keeping its fd). Prints "taps <json>": TAP names got, refusals (code: message),
 * and the released TAP's name; holds everything until SIGTERM.
 */
import { parseArgs } from "node:util";
import { BrokerClient } from "../../src/broker/client.ts";
import { assertInTestNetns } from "./netns.ts";

assertInTestNetns();
const { values: o } = parseArgs({
  options: { socket: { type: "string" }, network: { type: "string" }, connections: { type: "string", default: "1" }, taps: { type: "string", default: "1" }, "release-one": { type: "boolean" } },
});
const got: string[][] = [];
const refused: string[] = [];
const clients = Array.from({ length: Number(o.connections) }, () => BrokerClient.connect(o.socket!));
for (const c of clients) {
  const mine: string[] = [];
  for (let i = 0; i < Number(o.taps); i++) {
    try {
      mine.push(c.acquire(o.network!, true).result.tap!.ifname);
    } catch (e) {
      refused.push(`${(e as { code?: string }).code}: ${(e as Error).message}`);
    }
  }
  got.push(mine);
}
let released: string | null = null;
if (o["release-one"] && got[0]?.length) {
  clients[0]!.release(o.network!);
  released = got[0]![0]!;
}
process.stdout.write(`taps ${JSON.stringify({ got, refused, released })}\n`);
process.on("SIGTERM", () => process.exit(0));
setInterval(() => {}, 1 << 30);
