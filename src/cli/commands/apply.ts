import { defineCommand } from "citty";
import { existsSync } from "node:fs";
import { formatArgs } from "./_args.ts";
import { formatFrom, render, note } from "../output.ts";
import { openStore, loadPlatform } from "../context.ts";
import { planColumns, planJson, planSummary } from "../display/plan.ts";
import { Store } from "../../core/store/store.ts";
import { storePath } from "../../core/store/paths.ts";
import { NetworkService } from "../../core/networks.ts";
import { ownerPolicy } from "../owners.ts";
import { LeaseService } from "../../core/leases.ts";
import { readApplyFile } from "../../core/apply/file.ts";
import { planApply } from "../../core/apply/plan.ts";
import { dryRunResult, executePlan } from "../../core/apply/execute.ts";
import { MANAGED_LABEL_KEY, MANAGED_LABEL_VALUE } from "../../core/apply/schema.ts";
import { notifyServices, servicesStatus } from "../../services/control.ts";
import { PortService } from "../../core/ports/service.ts";
import { syncPortsAfter } from "../ports.ts";

export default defineCommand({
  meta: {
    name: "apply",
    description: "Make networks and attachments match a file",
    details: `The file (TOML or JSON) declares networks and their reserved attachments; it is validated whole
before anything changes. --dry-run prints the plan (create, change, unchanged, would delete).
Applying the same file twice reports everything unchanged. Networks apply creates carry the label
${MANAGED_LABEL_KEY}=${MANAGED_LABEL_VALUE}, and --prune deletes only those that left the file.`,
    examples: ["vmlan apply -f lab.toml --dry-run", "vmlan apply -f lab.toml --prune", "vmlan apply -f - --format json < lab.json"],
  },
  args: {
    file: { type: "string", alias: "f", valueHint: "FILE", description: "Apply file: TOML, or JSON (.json or content starting with '{'); - reads stdin", required: true },
    "dry-run": { type: "boolean", description: "Print the plan and change nothing (no store writes, no host objects)" },
    prune: { type: "boolean", description: `Delete networks labelled ${MANAGED_LABEL_KEY}=${MANAGED_LABEL_VALUE} that are not in the file` },
    ...formatArgs,
  },
  async run({ args }) {
    const doc = await readApplyFile(args.file);
    const dryRun = Boolean(args["dry-run"]);
    // A dry run on a state dir that has no store yet plans against an empty one instead of creating the file.
    const store = dryRun && !existsSync(storePath()) ? new Store(":memory:") : openStore();
    const plan = planApply(doc, store, { prune: args.prune });
    const needsHost = plan.items.some((i) => (i.kind === "network" && ["create", "change", "delete"].includes(i.action)) || i.action === "publish");
    const platform = needsHost && !dryRun ? await loadPlatform() : null;
    const ports = platform?.ports ? new PortService(store, platform.ports, { daemonPid: servicesStatus().pid }) : undefined;
    const result = dryRun
      ? dryRunResult(plan)
      : await executePlan(plan, { networks: new NetworkService(store, platform), leases: new LeaseService(store, undefined, ownerPolicy), ports });
    // Like network create/rm: a running services daemon (DHCP/DNS) reloads to see new or removed networks.
    if (result.items.some((i) => i.kind !== "attachment" && i.status === "applied")) await notifyServices();
    // Reserved attachments bring their stored ports back.
    if (result.items.some((i) => i.kind === "attachment" && i.status === "applied")) await syncPortsAfter(store);
    const format = formatFrom(args);
    render(result.items, planColumns, { format, json: planJson(result) });
    // JSON carries the summary and every error itself; the closing lines are for people.
    if (format === "table") for (const line of planSummary(result)) note(line);
    process.exitCode = result.exitCode;
  },
});
