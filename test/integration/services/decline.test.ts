/**
 * DHCPDECLINE with a real client (issue #12 item 4): dhcpcd ARP-probes the address it is given
 * (RFC 5227); a squatter namespace answers for it, dhcpcd DECLINEs, and vmlan must offer another
 * address instead of the same one forever. dhcpcd runs in its own guest namespace with private
 * /run and /var/lib/dhcpcd (tmpfs in `ip netns exec`'s own mount namespace) and no hook script,
 * so it touches nothing outside the namespace.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Netns } from "../../support/netns.ts";
import { Host } from "./support.ts";

const TIMEOUT_MS = 60_000;
let host: Host;

beforeAll(async () => {
  host = new Host();
  await host.ok("system", "start");
  await host.ok("network", "create", "probe", "--subnet", "10.91.7.0/24");
  await host.waitLog(/dhcp\[probe\]: listening/);
}, TIMEOUT_MS);

afterAll(async () => {
  await host?.close();
}, TIMEOUT_MS);

/** dhcpcd once (-1), IPv4 only, in the foreground, no hooks, no IPv4LL; its log on stderr. */
function dhcpcd(guest: Netns, timeoutS: number): { code: number; output: string } {
  const script = [
    "mount -t tmpfs none /run", "mount -t tmpfs none /var/lib/dhcpcd",
    `exec dhcpcd -4 -1 -B -d -f /dev/null -c /bin/true --noipv4ll -t ${timeoutS} eth0`,
  ].join(" && ");
  const r = guest.run(["sh", "-c", script]);
  return { code: r.code, output: r.stdout + r.stderr };
}

test("dhcpcd finds its offered address taken (ARP probe), DECLINEs it, and is given another one", () => {
  // 10.91.7.2 is the first address vmlan hands out; a host that is no attachment squats on it.
  const squatter = host.cable("vl-probe", "sq", "02:91:07:00:00:99");
  squatter.sh(["ip", "addr", "add", "10.91.7.2/24", "dev", "eth0"]);
  const guest = host.cable("vl-probe", "d1", "02:91:07:00:00:01");
  const { code, output } = dhcpcd(guest, 35);
  expect(output).toContain("sending DECLINE");
  expect(code, output).toBe(0);
  const leased = /leased (\d+\.\d+\.\d+\.\d+)/.exec(output)?.[1];
  expect(leased, output).toMatch(/^10\.91\.7\.\d+$/);
  expect(leased).not.toBe("10.91.7.2");
  expect(output.match(/sending DECLINE/g)!.length).toBe(1); // once: the second offer was another address
  expect(host.log()).toMatch(/DECLINE from 02:91:07:00:00:01: 10\.91\.7\.2 is in use by another host; not offered until /);
  expect(guest.sh(["ip", "-4", "-o", "addr", "show", "dev", "eth0"])).toContain(`${leased}/24`);
}, TIMEOUT_MS);
