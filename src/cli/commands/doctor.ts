import { defineCommand } from "citty";
import { existsSync } from "node:fs";
import { formatArgs } from "./_args.ts";
import { loadPlatform } from "../context.ts";
import { formatFrom, printJson, table } from "../output.ts";
import { unknownHostNetworks } from "../../core/prune.ts";
import { Store } from "../../core/store/store.ts";
import { storePath } from "../../core/store/paths.ts";
import { escapeControl } from "../../core/text.ts";
import type { DoctorCheck } from "../../vm/backend.ts";

/** Networks vmlan made here that this store does not own (`system prune`); null where none can be. */
async function leftoversCheck(): Promise<DoctorCheck | null> {
  const host = await loadPlatform().catch(() => null); // a platform that cannot load has its own failed line
  if (!host?.listHostNetworks) return null;
  // Doctor creates no state: without a store file every vmlan network here is another's.
  const path = storePath();
  let store: Store | null = null;
  try {
    store = existsSync(path) ? new Store(path) : null;
    const left = unknownHostNetworks(store, host).map((h) => escapeControl(h.bridge) + (h.ports.length > 0 ? " (in use)" : ""));
    return left.length === 0
      ? { check: "leftovers", status: "ok", detail: "every vmlan network on this host is in this store" }
      : { check: "leftovers", status: "warn", detail: `vmlan networks on this host that no network in this store owns: ${left.join(", ")}`, fix: "vmlan system prune --dry-run, then vmlan system prune" };
  } catch (e) {
    // A store this binary cannot read (a newer schema, a damaged file) is another command's error; doctor goes on.
    return { check: "leftovers", status: "warn", detail: `cannot tell: ${escapeControl((e as Error).message)}`, fix: "mend or move aside the store named there, then run vmlan doctor again" };
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
whether VMs can run, the broker (macOS 26), the guest image's tools.`,
    examples: ["vmlan doctor", "vmlan doctor --format json"],
  },
  args: { ...formatArgs },
  async run({ args }) {
    const { hostDoctor } = await import("../../platform/index.ts");
    const checks = await hostDoctor();
    // Listing vmlan's nft tables needs CAP_NET_ADMIN: without it the privileges line already says so.
    if (!checks.some((c) => c.check === "privileges" && c.status === "fail")) {
      const left = await leftoversCheck();
      if (left) checks.push(left);
    }
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
