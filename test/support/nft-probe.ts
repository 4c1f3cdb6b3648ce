/**
 * Drives src/platform/linux/nft.ts inside a test namespace and prints one JSON object of what it saw
 * (test/integration/platform/nft.test.ts). argv[2]: a second namespace's path, entered with setns by
 * the main thread for one listing, as the CNI plugin's code does.
 */
import { CLONE_NEWNET } from "../../ffi/libc/constants.ts";
import { libc } from "../../ffi/libc/load.ts";
import { openNetns } from "../../src/platform/linux/netns.ts";
import { applyScript, runNft } from "../../src/platform/linux/nft.ts";

const tables = () => runNft(["list", "tables"]).stdout.trim().split("\n").filter(Boolean);
const out: Record<string, unknown> = {};
applyScript("add table inet probe_a\nadd chain inet probe_a c { type filter hook input priority 0; }\nadd rule inet probe_a c tcp dport 22 accept\n", "add probe_a");
out.text = runNft(["list", "table", "inet", "probe_a"]).stdout;
// Handles are the kernel's counters, different in every run: left out.
out.json = (JSON.parse(runNft(["-j", "list", "table", "inet", "probe_a"]).stdout, (k, v) => (k === "handle" ? undefined : v)) as { nftables: unknown[] }).nftables.slice(1);
out.missing = runNft(["list", "table", "inet", "nope"]);
try {
  applyScript("add table inet probe_b\nadd rule inet probe_b nochain drop\n", "add probe_b");
  out.failed = null;
} catch (e) {
  out.failed = (e as Error).message;
}
out.afterFailure = tables();
// Another process changes the ruleset between two of our calls.
Bun.spawnSync(["nft", "add", "table", "inet", "probe_other"]);
out.afterOther = tables();
applyScript("add table inet probe_other\ndelete table inet probe_other\n", "remove probe_other");
out.afterRemove = tables();
const c = libc();
const home = openNetns("/proc/thread-self/ns/net");
const there = openNetns(process.argv[2]!);
c.setns(there, CLONE_NEWNET);
out.inOther = tables();
c.setns(home, CLONE_NEWNET);
out.backHome = tables();
console.log(JSON.stringify(out));
