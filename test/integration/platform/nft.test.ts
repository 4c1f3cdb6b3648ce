/**
 * nft commands run in-process through libnftables (src/platform/linux/nft.ts), with the `nft` binary
 * as the fallback: both give the same listings and errors, a change made by another process is seen
 * at the next call (no stale cache), and a thread that entered another namespace talks to that one.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";

let ns: Netns;
let other: Netns;
beforeAll(() => {
  ns = createNetns();
  other = createNetns();
  other.sh(["nft", "add", "table", "ip", "probe_elsewhere"]);
});
afterAll(() => {
  ns?.delete();
  other?.delete();
});

function probe(env: Record<string, string> = {}): Record<string, unknown> {
  ns.sh(["nft", "flush", "ruleset"]); // our own namespace's: each probe starts empty
  const r = ns.run([BUN, "test/support/nft-probe.ts", `/run/netns/${other.name}`], { env });
  if (r.code !== 0) throw new Error(`nft-probe failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, unknown>;
}

test("in-process nft applies, lists (text and JSON), reports errors and sees other processes' changes", () => {
  const o = probe({ VMLAN_DEBUG_FFI: "1" });
  expect(o.text).toContain("tcp dport 22 accept");
  expect(JSON.stringify(o.json)).toContain('"dport"');
  expect(o.missing).toMatchObject({ code: 1, stdout: "" });
  expect((o.missing as { stderr: string }).stderr).toContain("Error: No such file or directory");
  expect(o.failed).toMatch(/^nft failed to add probe_b: .*Error: /);
  expect(o.afterFailure).toEqual(["table inet probe_a"]); // the failed script left nothing
  expect(o.afterOther).toEqual(["table inet probe_a", "table inet probe_other"]);
  expect(o.afterRemove).toEqual(["table inet probe_a"]);
  expect(o.inOther).toEqual(["table ip probe_elsewhere"]);
  expect(o.backHome).toEqual(["table inet probe_a"]);
});

test("the library is what runs, and the nft binary gives the same results when it cannot be loaded", () => {
  const viaLib = ns.run([BUN, "-e", `import { runNft } from "./src/platform/linux/nft.ts"; runNft(["list", "tables"]);`], { env: { VMLAN_DEBUG_FFI: "1" } });
  expect(viaLib.stderr).toContain("ffi: open libnftables.so.1");
  const lib = probe();
  const bin = probe({ VMLAN_LIBNFTABLES_PATH: "/nonexistent/libnftables.so.1" });
  expect(bin.failed).toMatch(/^nft failed to add probe_b: .*Error: /);
  const same = (o: Record<string, unknown>) => ({ ...o, failed: undefined, missing: undefined });
  expect(same(bin)).toEqual(same(lib));
});
