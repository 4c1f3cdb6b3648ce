/**
 * vmnet-helper's --enable-isolation on vmlan: bridge port isolation on the helper's TAP. Three helpers
 * started as `vmnet-helper` on one host-only range network (vmnet-helper's options only), each
 * serving a fake guest (test/support/dgram-guest.ts as its --socket client): two isolated, one not.
 * The isolated ones cannot reach each other; every guest reaches the gateway; a guest that is not
 * isolated reaches an isolated one (Linux bridge semantics, documented in docs/compat.md).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { BUN } from "../../support/netns.ts";
import { LineProc } from "../helper/proc.ts";
import { CompatHost, startLineOf, type StartLine } from "./support.ts";

const GUEST = join(import.meta.dir, "..", "..", "support", "dgram-guest.ts");
const RANGE = ["--operation-mode", "host", "--start-address", "10.75.0.1", "--end-address", "10.75.0.40", "--subnet-mask", "255.255.255.0"];

let h: CompatHost;
beforeAll(async () => { h = await new CompatHost().install(); });
afterAll(() => h?.stop());

async function helper(name: string, isolated: boolean): Promise<{ line: StartLine; sock: string }> {
  const sock = h.sock(name);
  const p = h.start("vmnet-helper", ["--socket", sock, ...RANGE, ...(isolated ? ["--enable-isolation"] : [])]);
  return { line: await startLineOf(p), sock };
}

function guest(of: { line: StartLine; sock: string }, ping?: string): LineProc {
  const args = ["--socket", of.sock, "--ip", String(of.line.vmlan_address), "--mac", String(of.line.vmnet_mac_address)];
  const p = new LineProc([BUN, GUEST, ...args, ...(ping ? ["--ping", ping, "--timeout", "2000"] : [])], {});
  h.procs.push(p);
  return p;
}

test("two isolated guests cannot reach each other; both reach the gateway; a guest that is not isolated reaches them", async () => {
  const [a, b, c] = [await helper("a", true), await helper("b", true), await helper("c", false)];
  expect([a.line.vmlan_isolation, b.line.vmlan_isolation, c.line.vmlan_isolation]).toEqual([true, true, false]);
  const ga = guest(a);
  await ga.waitFor(/^ready/);
  const gb = guest(b, String(a.line.vmlan_address));
  const gc = guest(c, String(a.line.vmlan_address));
  expect(await gb.waitFor(/^ping /, { timeoutMs: 10_000 })).toBe(`ping fail ${a.line.vmlan_address}`);
  expect(await gc.waitFor(/^ping /, { timeoutMs: 10_000 })).toBe(`ping ok ${a.line.vmlan_address}`);
  for (const g of [a, b]) {
    const r = h.ns.run(["ping", "-c", "2", "-i", "0.2", "-W", "1", String(g.line.vmlan_address)]); // from the gateway (the host)
    expect(r.code, r.stdout + r.stderr).toBe(0);
  }
  const ports = JSON.parse(h.ns.sh(["bridge", "-d", "-j", "link", "show"])) as { ifname: string; isolated: boolean }[];
  const byTap = Object.fromEntries(ports.map((p) => [p.ifname, p.isolated]));
  expect([byTap[String(a.line.vmlan_tap)], byTap[String(b.line.vmlan_tap)], byTap[String(c.line.vmlan_tap)]]).toEqual([true, true, false]);
});
