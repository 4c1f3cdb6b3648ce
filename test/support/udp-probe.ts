/**
 * Sends one UDP datagram and prints the first answer (or "timeout"), run inside a test namespace:
 *   ip netns exec NS bun test/support/udp-probe.ts HOST PORT MESSAGE [TIMEOUT_MS]
 */
import dgram from "node:dgram";
import { assertInTestNetns } from "./netns.ts";

assertInTestNetns();
const [host, port, message, timeout] = process.argv.slice(2);
const s = dgram.createSocket(host!.includes(":") ? "udp6" : "udp4");
const timer = setTimeout(() => { console.log("timeout"); process.exit(1); }, Number(timeout ?? 1500));
s.on("message", (msg) => { clearTimeout(timer); console.log(msg.toString()); process.exit(0); });
s.send(message!, Number(port), host!);
