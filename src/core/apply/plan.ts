/**
 * The plan: what `vmlan apply` would do to reach the file's state, worked out from the store
 * alone (no host object is read or touched, nothing is written). Items are in execution order:
 * prune deletions first (they free subnets and names), then each file network followed by its
 * attachments, then networks left alone.
 */
import type { Store } from "../store/store.ts";
import type { Network } from "../resources/network.ts";
import type { AttachRequest } from "../resources/attachment.ts";
import { configDiff, parseRequest } from "../network-config.ts";
import { parseSubnetV4, parseSubnetV6, overlapsV4, overlapsV6, v4ToInt, intToV4 } from "../ipam/subnet.ts";
import { hasAddress } from "../ipam/allocator.ts";
import { MANAGED_LABEL_KEY, MANAGED_LABEL_VALUE, isManaged, keyPath, type FileNetwork, type FileAttachment, type Problem } from "./schema.ts";
import { ApplyFileError, type ApplyDoc } from "./file.ts";
import type { PortSpec } from "../ports/spec.ts";
import { portsItem, portsPlanning, type PortsPlanning } from "./plan-ports.ts";

export type Action = "create" | "change" | "unchanged" | "delete" | "keep" | "reserve" | "publish" | "conflict" | "refuse";

export interface NetworkInput {
  name: string;
  mode: "shared" | "host" | "bridged";
  subnet?: string;
  subnetV6?: string;
  mtu?: number;
  labels: Record<string, string>;
  dhcp?: boolean;
  dnsDomain?: string;
  uplink?: string;
  gateway?: string;
  poolStart?: string;
  poolEnd?: string;
}

export interface PlanItem {
  action: Action;
  kind: "network" | "attachment" | "ports";
  /** the network's name, or "network/id" for an attachment */
  name: string;
  network: string;
  detail: string;
  /** create/change: what NetworkService.create gets */
  request?: NetworkInput;
  /** reserve: what LeaseService.attach gets */
  reservation?: AttachRequest;
  /** publish: the attachment's ports from now on (PortService.set) */
  ports?: PortSpec[];
}

export interface Plan {
  file: string;
  prune: boolean;
  items: PlanItem[];
}

/** Actions that change something when applied. */
export const CHANGES: ReadonlySet<Action> = new Set(["create", "change", "delete", "reserve", "publish"]);
/** Actions that apply refuses (reported, skipped, exit non-zero). */
export const REFUSALS: ReadonlySet<Action> = new Set(["conflict", "refuse"]);

/** The create request for a file network: its own labels plus the managed label. */
export function networkInput(n: FileNetwork): NetworkInput {
  return {
    name: n.name, mode: n.mode, labels: { ...n.labels, [MANAGED_LABEL_KEY]: MANAGED_LABEL_VALUE },
    ...(n.subnet !== undefined ? { subnet: n.subnet } : {}),
    ...(n.subnet_v6 !== undefined ? { subnetV6: n.subnet_v6 } : {}),
    ...(n.mtu !== undefined ? { mtu: n.mtu } : {}),
    ...(n.dhcp !== undefined ? { dhcp: n.dhcp } : {}),
    ...(n.dns_domain !== undefined ? { dnsDomain: n.dns_domain } : {}),
    ...(n.uplink !== undefined ? { uplink: n.uplink } : {}),
    ...(n.gateway !== undefined ? { gateway: n.gateway } : {}),
    ...(n.pool_start !== undefined ? { poolStart: n.pool_start } : {}),
    ...(n.pool_end !== undefined ? { poolEnd: n.pool_end } : {}),
  };
}

export function planApply(doc: ApplyDoc, store: Store, opts: { prune?: boolean } = {}): Plan {
  const inFile = new Set(doc.networks.map((n) => n.name));
  const stored = store.listNetworks();
  const head: PlanItem[] = [];
  const tail: PlanItem[] = [];
  const leaving = new Set<string>();
  for (const s of stored) {
    if (s.builtin || inFile.has(s.name) || !isManaged(s.labels)) continue; // never touch hand-made or built-in networks
    const item = { kind: "network" as const, name: s.name, network: s.name };
    if (!opts.prune) {
      tail.push({ ...item, action: "keep", detail: "not in file (use --prune to delete)" });
      continue;
    }
    const active = store.countActive(s.name);
    if (active > 0) head.push({ ...item, action: "refuse", detail: `not in file, but has ${active} active attachment(s); detach them first` });
    else {
      head.push({ ...item, action: "delete", detail: "not in file" });
      leaving.add(s.name);
    }
  }
  const others = stored.filter((s) => !inFile.has(s.name) && !leaving.has(s.name));
  const problems = doc.networks.flatMap((n, i) => overlapProblems(n, i, others));
  if (problems.length > 0) throw new ApplyFileError(doc.file, problems);

  const ports = portsPlanning(store);
  const body = doc.networks.flatMap((n) => planNetwork(n, store, ports));
  return { file: doc.file, prune: !!opts.prune, items: [...head, ...body, ...tail] };
}

/** A file network overlapping a stored network that stays (not in the file, not being deleted). */
function overlapProblems(n: FileNetwork, i: number, others: Network[]): Problem[] {
  const out: Problem[] = [];
  for (const o of others) {
    if (n.subnet && overlapsV4(parseSubnetV4(n.subnet), parseSubnetV4(o.subnet))) {
      out.push({ path: keyPath(["networks", i, "subnet"]), message: `subnet ${n.subnet} overlaps existing network "${o.name}" (${o.subnet}), which is not in the file` });
    }
    if (n.subnet_v6 && o.subnetV6 && overlapsV6(parseSubnetV6(n.subnet_v6), parseSubnetV6(o.subnetV6))) {
      out.push({ path: keyPath(["networks", i, "subnet_v6"]), message: `IPv6 prefix ${n.subnet_v6} overlaps existing network "${o.name}" (${o.subnetV6}), which is not in the file` });
    }
  }
  return out;
}

function describe(r: NetworkInput): string {
  const parts = [r.mode, ...(r.uplink ? [`uplink ${r.uplink}`] : []), r.subnet ?? (r.mode === "bridged" ? "subnet: the uplink's" : "subnet: next free /24")];
  if (r.subnetV6) parts.push(r.subnetV6);
  if (r.mtu !== undefined) parts.push(`mtu ${r.mtu}`);
  if (r.dhcp === false) parts.push("no dhcp");
  if (r.dnsDomain) parts.push(`domain ${r.dnsDomain}`);
  return parts.join(", ");
}

function planNetwork(n: FileNetwork, store: Store, ports: PortsPlanning): PlanItem[] {
  // Each attachment's item, then its ports' item (when the file gives ports); fresh: the network is (re)made.
  const each = (fresh: boolean, plan: (a: FileAttachment) => PlanItem) => n.attachments.flatMap((a) => {
    const item = plan(a);
    return [item, ...portsItem(n.name, a, item, ports, fresh)];
  });
  const request = networkInput(n);
  const base = { kind: "network" as const, name: n.name, network: n.name };
  const existing = store.getNetwork(n.name);
  if (!existing) {
    return [{ ...base, action: "create", detail: describe(request), request }, ...each(true, (a) => reserve(n.name, a, ""))];
  }
  if (existing.builtin) {
    return [{ ...base, action: "refuse", detail: "built-in network; apply does not manage it" }, ...each(false, (a) => refused(n.name, a))];
  }
  // A network made by hand but otherwise identical is adopted as it is, without recreating it for the label.
  const diff = configDiff({ ...existing, labels: { ...existing.labels, [MANAGED_LABEL_KEY]: MANAGED_LABEL_VALUE } }, parseRequest(request));
  if (diff.length === 0) {
    const detail = isManaged(existing.labels) ? "matches the file" : "matches the file (made by hand: never pruned)";
    return [{ ...base, action: "unchanged", detail }, ...each(false, (a) => planAttachment(n.name, a, store))];
  }
  const reserved = new Set(n.attachments.map((a) => a.id));
  const strangers = store.listLeases(n.name).filter((l) => !reserved.has(l.id)).map((l) => l.id);
  if (strangers.length > 0) {
    const shown = strangers.slice(0, 5).join(", ") + (strangers.length > 5 ? ", ..." : "");
    const detail = `${diff.join("; ")}; refused: ${strangers.length} active attachment(s) not in the file (${shown}); detach them first`;
    return [{ ...base, action: "refuse", detail }, ...each(false, (a) => refused(n.name, a))];
  }
  const kept = store.countActive(n.name);
  const detail = `${diff.join("; ")} (recreated${kept ? `; ${kept} reserved attachment(s) reserved again` : ""})`;
  return [{ ...base, action: "change", detail, request }, ...each(true, (a) => reserve(n.name, a, "(after the network is recreated)"))];
}

function wanted(a: FileAttachment): string {
  const parts = [a.ip ? `ip ${a.ip}` : "next free address", ...(a.mac ? [`mac ${a.mac}`] : []), ...(a.hostname ? [`hostname ${a.hostname}`] : [])];
  return parts.join(", ");
}

function reserve(network: string, a: FileAttachment, why: string): PlanItem {
  const reservation: AttachRequest = { network, id: a.id, ...(a.ip ? { ip: a.ip } : {}), ...(a.mac ? { mac: a.mac } : {}), ...(a.hostname ? { hostname: a.hostname } : {}) };
  return { action: "reserve", kind: "attachment", name: `${network}/${a.id}`, network, detail: why ? `${wanted(a)} ${why}` : wanted(a), reservation };
}

function refused(network: string, a: FileAttachment): PlanItem {
  return { action: "refuse", kind: "attachment", name: `${network}/${a.id}`, network, detail: `network "${network}" is refused` };
}

/** An attachment on a network that stays as it is: already there, free to reserve, or colliding with another id. */
function planAttachment(network: string, a: FileAttachment, store: Store): PlanItem {
  const item = { kind: "attachment" as const, name: `${network}/${a.id}`, network };
  const conflict = (detail: string): PlanItem => ({ ...item, action: "conflict", detail });
  const lease = store.getLease(network, a.id);
  if (lease?.state === "active") {
    const have = hasAddress(lease) ? intToV4(lease.addr) : "no address";
    const diffs = [
      a.ip !== undefined && a.ip !== have ? `holds ${have}, file says ${a.ip}` : "",
      a.mac !== undefined && a.mac !== lease.mac ? `uses MAC ${lease.mac}, file says ${a.mac}` : "",
      a.hostname !== undefined && a.hostname !== lease.hostname ? `has hostname ${lease.hostname}, file says ${a.hostname}` : "",
    ].filter(Boolean);
    if (diffs.length > 0) return conflict(`${diffs.join("; ")}; detach it first`);
    return { ...item, action: "unchanged", detail: `${have}, ${lease.mac}, ${lease.hostname}` };
  }
  if (a.ip !== undefined) {
    const holder = store.leaseAt(network, v4ToInt(a.ip));
    if (holder?.state === "active" && holder.id !== a.id) return conflict(`address ${a.ip} is taken by id "${holder.id}"`);
  }
  if (a.mac !== undefined) {
    const holder = store.activeWithMac(network, a.mac);
    if (holder && holder.id !== a.id) return conflict(`MAC ${a.mac} is used by id "${holder.id}"`);
  }
  if (a.hostname !== undefined) {
    const holder = store.activeWithHostname(network, a.hostname);
    if (holder && holder.id !== a.id) return conflict(`hostname ${a.hostname} is used by id "${holder.id}"`);
  }
  return reserve(network, a, lease ? "(its released lease is taken back)" : "");
}
