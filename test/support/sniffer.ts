/**
 * A listener on a bridge for the anti-spoofing tests: its own plain TAP (not a vmlan port, so not
 * guarded) sees every broadcast frame the bridge lets through. Run inside a test namespace:
 *   ip netns exec NS bun test/support/sniffer.ts --bridge vl-x
 * stdout: "ready <ifname>", then per frame carrying a spoof-guest marker "seen <case> src=<mac>",
 * per ARP frame "arp sha=<mac> spa=<ip>". Exits 0 on SIGTERM.
 */
import { parseArgs } from "node:util";
import { libc } from "../../ffi/libc/load.ts";
import { openTap } from "../../src/platform/linux/tap.ts";
import { assertInTestNetns } from "./netns.ts";
import * as F from "./frames.ts";

assertInTestNetns();
const { values: o } = parseArgs({ options: { bridge: { type: "string" } } });
if (!o.bridge) throw new Error("usage: --bridge B");
const tap = openTap({ bridge: o.bridge });
let stopping = false;
process.on("SIGTERM", () => { stopping = true; });
console.log(`ready ${tap.ifname}`);
const c = libc();
const buf = new Uint8Array(65536);
const pfd = new Uint8Array(8);
const MARK = new TextEncoder().encode("vmlan-spoof:");
const find = (hay: Uint8Array, needle: Uint8Array) => {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
};
while (!stopping) {
  new DataView(pfd.buffer).setInt32(0, tap.fd, true);
  new DataView(pfd.buffer).setInt16(4, 1 /* POLLIN */, true);
  if (c.poll(pfd, 1, 50) <= 0) {
    await Bun.sleep(0);
    continue;
  }
  const n = Number(c.read(tap.fd, buf, buf.length));
  if (n <= 0) continue;
  const f = buf.subarray(0, n);
  const eth = F.parseEthernet(f);
  if (!eth) continue;
  if (eth.type === F.ETH_P_ARP) {
    const a = F.parseArp(eth.payload);
    if (a) console.log(`arp sha=${F.formatMac(a.sha)} spa=${F.formatIpv4(a.spa)}`);
    continue;
  }
  const at = find(f, MARK);
  if (at >= 0) {
    const rest = new TextDecoder().decode(f.subarray(at + MARK.length, at + MARK.length + 32));
    console.log(`seen ${/^[a-z0-9-]+/.exec(rest)?.[0] ?? "?"} src=${F.formatMac(eth.src)}`);
  }
}
tap.close();
process.exit(0);
