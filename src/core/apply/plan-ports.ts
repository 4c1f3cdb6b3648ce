/**
 * The `ports` of an apply file's attachments: one plan item after the attachment's own, when the
 * file says `ports = [...]` (absent: the stored ports stay as they are; [] removes them). Planned
 * from the store alone, like the rest of the plan: a host port another attachment publishes, or
 * another attachment of the same file claims, is a conflict.
 */
import type { Store } from "../store/store.ts";
import { formatPortSpec, overlaps, sameSpec, type PortSpec } from "../ports/spec.ts";
import { activeHolder, describeHolder, portViews, type PortView } from "../ports/state.ts";
import type { FileAttachment } from "./schema.ts";
import type { PlanItem } from "./plan.ts";

export interface PortsPlanning {
  store: Store;
  /** the store's ports, worked out once per plan */
  views(): PortView[];
  /** ports earlier attachments of the file publish, to find overlaps within the file */
  claimed: { owner: string; spec: PortSpec }[];
}

export function portsPlanning(store: Store): PortsPlanning {
  let views: PortView[] | null = null;
  return { store, views: () => (views ??= portViews(store)), claimed: [] };
}

const REFUSED = new Set(["conflict", "refuse"]);

/** The ports item for `a` (planned after `attached`, its attachment's item), or none. `fresh`: the network is (re)created. */
export function portsItem(network: string, a: FileAttachment, attached: PlanItem, p: PortsPlanning, fresh: boolean): PlanItem[] {
  if (a.ports === undefined) return [];
  const name = `${network}/${a.id}`;
  const item = { kind: "ports" as const, name, network };
  if (REFUSED.has(attached.action)) return [{ ...item, action: "refuse", detail: "its attachment is refused" }];
  const want = a.ports;
  const stored = fresh ? [] : p.store.ports.list(network, a.id);
  const added = want.filter((s) => !stored.some((o) => sameSpec(o, s)));
  const removed = stored.filter((o) => !want.some((s) => sameSpec(o, s)));
  for (const s of want) {
    const other = p.claimed.find((c) => c.owner !== name && overlaps(c.spec, s));
    if (other) return [{ ...item, action: "conflict", detail: `${formatPortSpec(s)} overlaps ${formatPortSpec(other.spec)} of ${other.owner} in the file` }];
  }
  for (const s of added) {
    const holder = activeHolder(p.views(), network, a.id, s);
    if (holder && !p.claimed.some((c) => c.owner === `${holder.network}/${holder.id}`)) {
      return [{ ...item, action: "conflict", detail: `${formatPortSpec(s)} is published by ${describeHolder(holder)}` }];
    }
  }
  p.claimed.push(...want.map((spec) => ({ owner: name, spec })));
  if (added.length === 0 && removed.length === 0) {
    return [{ ...item, action: "unchanged", detail: want.length ? want.map(formatPortSpec).join(", ") : "no ports" }];
  }
  const detail = [...added.map((s) => `+${formatPortSpec(s)}`), ...removed.map((s) => `-${formatPortSpec(s)}`)].join(", ");
  return [{ ...item, action: "publish", detail, ports: want }];
}
