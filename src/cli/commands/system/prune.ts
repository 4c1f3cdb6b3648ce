import { defineCommand } from "citty";
import { formatArgs } from "../_args.ts";
import { networkService } from "../../context.ts";
import { formatFrom, note, render } from "../../output.ts";
import { pruneHost, type PruneRow } from "../../../core/prune.ts";
import { escapeControl } from "../../../core/text.ts";

export default defineCommand({
  meta: {
    name: "prune",
    description: "Remove vmlan networks on this host that no network here owns",
    details: `A network's bridge and its NAT and anti-spoofing rules stay on the host when its store is deleted
(or belongs to another state dir); nothing else removes them. A bridge with ports is in use and stays.
Networks of another VMLAN_STATE_DIR in this namespace count as unknown: check with --dry-run first.`,
    examples: ["vmlan system prune --dry-run", "vmlan system prune", "vmlan system prune --format json"],
  },
  args: {
    "dry-run": { type: "boolean", description: "List what would be removed and remove nothing" },
    ...formatArgs,
  },
  async run({ args }) {
    const svc = await networkService(true);
    svc.platform!.checkPrivileges();
    const rows = pruneHost(svc.store, svc.platform!, { dryRun: Boolean(args["dry-run"]) });
    const format = formatFrom(args);
    if (format !== "json" && rows.length === 0) return note("nothing to prune: every vmlan network on this host is in this store");
    render(rows, [
      { header: "BRIDGE", value: (r: PruneRow) => escapeControl(r.bridge) },
      { header: "NETWORK", value: (r) => (r.network === null ? "-" : escapeControl(r.network)) },
      { header: "OUTCOME", value: (r) => (r.outcome === "in use" ? `in use (${r.ports.map(escapeControl).join(", ")}): kept` : r.outcome) },
    ], { format });
  },
});
