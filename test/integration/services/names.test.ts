/**
 * DNS name takeover through the compiled binary (issue #12 item 3): a guest asking DHCP for
 * `gateway` or for another attachment's name gets its lease without the name, `vmlan attach
 * --hostname gateway` is refused with one line and exit 2, and the names keep resolving to
 * their owners (dig against the gateway).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Host, removeScriptDir, udhcpc } from "./support.ts";

const TIMEOUT_MS = 30_000;
let host: Host;

beforeAll(async () => {
  host = new Host();
  await host.ok("system", "start");
  await host.ok("network", "create", "names", "--subnet", "10.91.6.0/24");
  await host.waitLog(/dhcp\[names\]: listening/);
}, TIMEOUT_MS);

afterAll(async () => {
  await host?.close();
  removeScriptDir();
}, TIMEOUT_MS);

const dig = (name: string) => host.ns.sh(["dig", "+time=3", "+tries=1", "+short", "@10.91.6.1", name]).trim();

test("`vmlan attach --hostname gateway` exits 2 with one line naming the name; nothing is attached", async () => {
  const r = await host.vmlan("attach", "names", "--id", "x", "--hostname", "gateway");
  expect(r.exitCode).toBe(2);
  expect(r.stderr.trim().split("\n")).toEqual([`error: invalid hostname "gateway": the name is reserved on network "names" (gateway, localhost, wpad, isatap, vmlan and the network's own names)`]);
  expect(await host.json("attachments", "names")).toEqual([]);
}, TIMEOUT_MS);

test("a DHCP client asking for `gateway` gets its lease without the name; gateway still resolves to the gateway", async () => {
  const guest = host.cable("vl-names", "n1", "02:91:06:00:00:01");
  const { lease, output } = udhcpc(guest, { hostname: "gateway" });
  expect(lease, output).not.toBeNull();
  expect(lease!.hostname).toBe("mac-029106000001");
  expect(dig("gateway")).toBe("10.91.6.1");
  expect(dig("gateway.names.vmlan")).toBe("10.91.6.1");
  expect(dig("mac-029106000001")).toBe(lease!.ip);
}, TIMEOUT_MS);

test("a DHCP client asking for an attachment's name (in another case) never takes it over", async () => {
  const web = await host.json<{ address: string }>("attach", "names", "--id", "web", "--hostname", "WEB");
  const guest = host.cable("vl-names", "n2", "02:91:06:00:00:02");
  const { lease, output } = udhcpc(guest, { hostname: "web" });
  expect(lease, output).not.toBeNull();
  expect(lease!.hostname).toBe("mac-029106000002");
  expect(dig("web")).toBe(web.address.split("/")[0]!);
  expect(dig("web.names.vmlan")).toBe(web.address.split("/")[0]!);
}, TIMEOUT_MS);
