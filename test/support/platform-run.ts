/**
 * Calls the Linux platform from inside a test namespace (`bun test` itself runs in the root one):
 *   ip netns exec NS bun test/support/platform-run.ts <ensure|remove|ensure-many|remove-many|sync-ports|status|status-links|check-subnet|privileges> '<json>'
 * Prints one JSON line: {"ok":true,"result":...} or {"ok":false,"error":{name,code,message}}.
 */
import { createLinuxPlatform } from "../../src/platform/linux/index.ts";
import { VmlanError } from "../../src/core/errors.ts";
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
