import { defineCommand } from "citty";
import { existsSync } from "node:fs";
import { formatArgs } from "./_args.ts";
import { loadPlatform } from "../context.ts";
import { formatFrom, printJson, table } from "../output.ts";
import { unknownHostNetworks } from "../../core/prune.ts";
import { Store } from "../../core/store/store.ts";
import { storePath } from "../../core/store/paths.ts";
import { escapeControl } from "../../core/text.ts";
import { servicesStatus } from "../../services/control.ts";
import type { DoctorCheck } from "../../vm/backend.ts";

/** Networks vmlan made here that this store does not own (`system prune`); null where none can be. */
async function leftoversCheck(store: Store | null): Promise<DoctorCheck | null> {
  const host = await loadPlatform().catch(() => null); // a platform that cannot load has its own failed line
  if (!host?.listHostNetworks) return null;
  const left = unknownHostNetworks(store, host).map((h) => escapeControl(h.bridge) + (h.ports.length > 0 ? " (in use)" : ""));
  return left.length === 0
    ? { check: "leftovers", status: "ok", detail: "every vmlan network on this host is in this store" }
    : { check: "leftovers", status: "warn", detail: `vmlan networks on this host that no network in this store owns: ${left.join(", ")}`, fix: "vmlan system prune --dry-run, then vmlan system prune" };
}

/** Whether the daemon that gives guests DHCP and DNS runs, where there are networks to serve. */
function servicesCheck(store: Store | null): DoctorCheck | null {
  const served = (store?.listNetworks() ?? []).map((n) => escapeControl(n.name));
  if (served.length === 0) return null;
  const s = servicesStatus();
  const on = `${served.length} network${served.length === 1 ? "" : "s"} (${served.slice(0, 5).join(", ")}${served.length > 5 ? ", ..." : ""})`;
  return s.running
    ? { check: "services", status: "ok", detail: `the services daemon (pid ${s.pid}) serves DHCP and DNS on ${on}` }
    : { check: "services", status: "warn", detail: `the services daemon is not running: guests on ${on} get no DHCP, DNS or router advertisements from vmlan`, fix: "vmlan system start" };
}

/** The checks that read this state dir's store; doctor creates no state (no store file: nothing of this dir's). */
async function storeChecks(privileged: boolean): Promise<DoctorCheck[]> {
  const path = storePath();
  let store: Store | null = null;
  try {
    store = existsSync(path) ? new Store(path) : null;
    // Listing vmlan's nft tables needs CAP_NET_ADMIN: without it the privileges line already says so.
    return [servicesCheck(store), privileged ? await leftoversCheck(store) : null].filter((c): c is DoctorCheck => c !== null);
  } catch (e) {
    // A store this binary cannot read (a newer schema, a damaged file) is another command's error; doctor goes on.
    return [{ check: "store", status: "warn", detail: `cannot read: ${escapeControl((e as Error).message)}`, fix: "mend or move aside the store named there, then run vmlan doctor again" }];
  } finally {
    store?.close();
  }
}

export default defineCommand({
  meta: {
    name: "doctor",
    description: "Check what vmlan needs on this host",
    details: `One line per check, each failed or warned check with a fix; exit 6 when one fails.
Linux: privileges, /dev/net/tun, KVM, nftables, QEMU, the guest image's tools, leftover networks.
macOS: the version, privileges, the vmnet and Virtualization.framework shims, the entitlement,
whether VMs can run, the broker (macOS 26), the guest image's tools. Both: whether the services
daemon (DHCP, DNS) runs for this state dir's networks.`,
    examples: ["vmlan doctor", "vmlan doctor --format json"],
  },
  args: { ...formatArgs },
  async run({ args }) {
    const { hostDoctor } = await import("../../platform/index.ts");
    const checks = await hostDoctor();
    checks.push(...(await storeChecks(!checks.some((c) => c.check === "privileges" && c.status === "fail"))));
    const failed = checks.some((c) => c.status === "fail");
    if (formatFrom(args) === "json") printJson({ ok: !failed, checks });
    else process.stdout.write(table(checks, [
      { header: "CHECK", value: (c) => c.check },
      { header: "STATUS", value: (c) => c.status },
      { header: "DETAIL", value: (c) => c.detail },
      { header: "FIX", value: (c) => c.fix ?? "" },
    ]));
    if (failed) process.exitCode = 6;
  },
});
