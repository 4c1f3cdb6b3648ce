/**
 * A fake guest on a TAP: answers ARP and ICMP echo for one IPv4 address and MAC, and optionally
 * pings another address once. Run inside a test namespace as its own process:
 *   ip netns exec NS bun test/support/fake-guest.ts --bridge vl-a --ip 10.1.0.50 --mac 02:00:00:00:00:50
 *       [--fd N] [--ping 10.2.0.50 --via 10.1.0.1]
 * stdout: "ready <ifname>", then "ping ok <ip>" or "ping fail <ip>". Exits 0 on SIGTERM.
 */
import { parseArgs } from "node:util";
import { libc } from "../../ffi/libc/load.ts";
import { openTap } from "../../src/platform/linux/tap.ts";
import { assertInTestNetns } from "./netns.ts";
import { respond } from "./responder.ts";

assertInTestNetns();
const { values: o } = parseArgs({
  options: {
    bridge: { type: "string" }, fd: { type: "string" }, ip: { type: "string" }, mac: { type: "string" },
    ping: { type: "string" }, via: { type: "string" }, timeout: { type: "string", default: "3000" },
  },
});
if (!o.ip || !o.mac || (!o.bridge && !o.fd)) throw new Error("usage: --ip A --mac M (--bridge B | --fd N) [--ping T [--via GW]]");
const c = libc();
const tap = o.fd ? { fd: Number(o.fd), ifname: `fd${o.fd}`, close: () => c.close(Number(o.fd)) } : openTap({ bridge: o.bridge });

let stopping = false;
process.on("SIGTERM", () => { stopping = true; });
process.on("SIGINT", () => { stopping = true; });

console.log(`ready ${tap.ifname}`);
await respond({ fd: tap.fd, ip: o.ip, mac: o.mac, ping: o.ping, via: o.via, timeoutMs: Number(o.timeout), tag: "vmlan-fake-guest" }, () => stopping);
tap.close();
process.exit(0);
