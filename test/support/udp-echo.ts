/**
 * A UDP echo server for tests, run inside a test namespace: answers every datagram with
 * "<tag>:<port>:<datagram>" from the port it arrived on. Listens dual-stack on every --port given.
 *   ip netns exec NS bun test/support/udp-echo.ts --tag web --port 5353 [--port 5354 ...]
 * stdout: "ready" once bound, then "got <port> <datagram>" for each datagram.
 */
import dgram from "node:dgram";
import { parseArgs } from "node:util";
import { assertInTestNetns } from "./netns.ts";

assertInTestNetns();
const { values } = parseArgs({ options: { tag: { type: "string", default: "echo" }, port: { type: "string", multiple: true } } });
const ports = (values.port ?? []).map(Number);
await Promise.all(ports.map((port) => new Promise<void>((resolve) => {
  const s = dgram.createSocket({ type: "udp6", ipv6Only: false });
  s.on("message", (msg, from) => {
    console.log(`got ${port} ${msg.toString()}`);
    s.send(`${values.tag}:${port}:${msg.toString()}`, from.port, from.address);
  });
  s.bind(port, "::", () => resolve());
})));
console.log("ready");
process.on("SIGTERM", () => process.exit(0));
