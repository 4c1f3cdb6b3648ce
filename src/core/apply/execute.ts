/**
 * Carrying out a plan, item by item in plan order. The first failure stops the run: what was
 * done before it stays done (in its new state), the failed item carries its error, and every
 * later change is reported as not attempted. Refused items are skipped without stopping.
 */
import { VmlanError } from "../errors.ts";
import type { NetworkService } from "../networks.ts";
import type { LeaseService } from "../leases.ts";
import type { PortService } from "../ports/service.ts";
import { CHANGES, REFUSALS, type Plan, type PlanItem } from "./plan.ts";

/**
 * planned: would change (dry run); applied: changed; noop: nothing to do; refused: conflict or
 * refusal from the plan; failed: the change threw; not-attempted: after a failure.
 */
export type Status = "planned" | "applied" | "noop" | "refused" | "failed" | "not-attempted";

export interface ResultItem extends PlanItem {
  status: Status;
  error?: VmlanError;
}

export interface ApplyResult {
  file: string;
  dryRun: boolean;
  items: ResultItem[];
  /** 0; the first failure's exit code; else 4 (conflict) when something was refused */
  exitCode: number;
}

function statusOf(item: PlanItem, dryRun: boolean): Status {
  if (REFUSALS.has(item.action)) return "refused";
  if (!CHANGES.has(item.action)) return "noop";
  return dryRun ? "planned" : "applied";
}

function exitCodeOf(items: ResultItem[], dryRun: boolean): number {
  const failed = items.find((i) => i.status === "failed");
  if (failed) return failed.error?.exitCode ?? 1;
  if (!dryRun && items.some((i) => i.status === "refused")) return 4; // ConflictError's code
  return 0;
}

/** The plan as a result that changed nothing (`--dry-run`). */
export function dryRunResult(plan: Plan): ApplyResult {
  const items = plan.items.map((i) => ({ ...i, status: statusOf(i, true) }));
  return { file: plan.file, dryRun: true, items, exitCode: exitCodeOf(items, true) };
}

export interface ApplyServices {
  networks: NetworkService;
  leases: LeaseService;
  /** for `ports` in the file; absent where the platform cannot publish */
  ports?: PortService;
}

export async function executePlan(plan: Plan, svc: ApplyServices): Promise<ApplyResult> {
  const items: ResultItem[] = [];
  let stopped = false;
  for (let i = 0; i < plan.items.length; i++) {
    const item = plan.items[i]!;
    const status = statusOf(item, false);
    if (status !== "applied") items.push({ ...item, status });
    else if (stopped) items.push({ ...item, status: "not-attempted" });
    else if (item.action === "reserve") {
      // A run of reservations is one transaction (LeaseService.attachMany), with the same per-item outcomes.
      let end = i;
      while (end + 1 < plan.items.length && plan.items[end + 1]!.action === "reserve") end++;
      const run = plan.items.slice(i, end + 1);
      let results: ReturnType<ApplyServices["leases"]["attachMany"]>;
      try {
        results = svc.leases.attachMany(run.map((r) => r.reservation!), { stopAtError: true });
      } catch (e) {
        // Not a VmlanError: the whole run was rolled back; the first reservation carries the error.
        results = run.map((_, k) => (k === 0 ? { error: new VmlanError(`internal error: ${(e as Error).message ?? String(e)}`, { cause: e }) } : null));
      }
      run.forEach((r, k) => {
        const x = results[k];
        if (!x) items.push({ ...r, status: "not-attempted" });
        else if ("error" in x) items.push({ ...r, status: "failed", error: x.error });
        else items.push({ ...r, status, detail: `${x.attachment.address}, ${x.attachment.mac}, ${x.attachment.hostname}` });
      });
      stopped = results.some((x) => x === null || "error" in x);
      i = end;
    } else {
      try {
        items.push({ ...item, status, detail: await step(item, svc) });
      } catch (e) {
        const error = e instanceof VmlanError ? e : new VmlanError(`internal error: ${(e as Error).message ?? String(e)}`, { cause: e });
        items.push({ ...item, status: "failed", error });
        stopped = true;
      }
    }
  }
  return { file: plan.file, dryRun: false, items, exitCode: exitCodeOf(items, false) };
}

/** Applies one item; returns the detail to report (what was actually done). */
async function step(item: PlanItem, { networks, ports }: ApplyServices): Promise<string> {
  switch (item.action) {
    case "delete":
      await networks.remove(item.name, {});
      return item.detail;
    case "change": {
      // --replace semantics, except that the file's own reservations (the only active attachments
      // the plan allowed) go with the old network and are reserved again on the new one.
      await networks.remove(item.name, { force: true });
      const { network } = await networks.create(item.request!);
      return `${item.detail}: ${network.subnet}, bridge ${network.bridge}`;
    }
    case "create": {
      const { network } = await networks.create(item.request!);
      return `${network.mode}, ${network.subnet}${network.subnetV6 ? `, ${network.subnetV6}` : ""}, bridge ${network.bridge}`;
    }
    case "publish": {
      if (!ports) throw new VmlanError("this platform cannot publish ports", { code: "EUSAGE", exitCode: 2 });
      const [network, id] = [item.network, item.name.slice(item.network.length + 1)];
      await ports.set(network, id, item.ports!);
      return item.detail;
    }
    default:
      throw new VmlanError(`internal error: "${item.action}" is not a change`);
  }
}
