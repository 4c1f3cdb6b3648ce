/**
 * Calls the Linux platform from inside a test namespace (`bun test` itself runs in the root one):
 *   ip netns exec NS bun test/support/platform-run.ts <ensure|remove|ensure-many|remove-many|sync-ports|status|status-links|check-subnet|privileges|guard|forget|sweep-guards> '<json>'
 * guard: guardPort(bridge, ifname, identity) (the rules stay when this process exits, as a SIGKILLed maker's do).
 * Prints one JSON line: {"ok":true,"result":...} or {"ok":false,"error":{name,code,message}}.
 */
import { createLinuxPlatform } from "../../src/platform/linux/index.ts";
import { VmlanError } from "../../src/core/errors.ts";
import { forgetPort, guardPort, sweepAllGuards } from "../../src/platform/linux/port-guard.ts";
import { assertInTestNetns } from "./netns.ts";

assertInTestNetns();
const [op, json = "{}"] = process.argv.slice(2);
const arg = JSON.parse(json);
const p = createLinuxPlatform();

async function call(): Promise<unknown> {
  switch (op) {
    case "ensure": return p.ensureNetwork(arg);
    case "remove": return p.removeNetwork(arg);
    case "ensure-many": return (await p.ensureNetworks!(arg)).map((e) => e?.message ?? null);
    case "remove-many": return (await p.removeNetworks!(arg)).map((e) => e?.message ?? null);
    case "sync-ports": return p.ports!.syncPorts(arg.spec, arg.rules);
    case "status": return p.status(arg);
    case "status-links": return p.status(arg, { rules: false });
    case "check-subnet": return p.checkSubnetFree(arg.cidr, arg.bridge);
    case "privileges": return p.checkPrivileges();
    case "guard": return guardPort(arg.bridge, arg.ifname, arg.identity, { sweep: false })?.ifname ?? null;
    case "forget": return forgetPort(arg.bridge, arg.ifindex, arg.pinned);
    case "sweep-guards": return sweepAllGuards();
    default: throw new Error(`unknown op ${op}`);
  }
}

try {
  const result = await call();
  console.log(JSON.stringify({ ok: true, result: result ?? null }));
} catch (e) {
  const err = e as Error;
  console.log(JSON.stringify({ ok: false, error: { name: err.name, code: e instanceof VmlanError ? e.code : undefined, message: err.message } }));
}
