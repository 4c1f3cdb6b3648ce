/**
 * The apply file: networks (name, mode, subnet, subnet_v6, mtu, labels, dhcp, dns_domain, uplink,
 * gateway, pool_start, pool_end) and, per network, the
 * attachments to reserve (id, hostname, ip, mac). Keys are snake_case as people write them in
 * TOML; every object is strict, so a typo is refused with its key path instead of ignored.
 */
import * as v from "valibot";
import { UsageError } from "../errors.ts";
import { NetworkName, InterfaceId, Hostname, DnsDomain, Ifname } from "../resources/names.ts";
import { NetworkMode } from "../resources/network.ts";
import { Labels } from "../resources/labels.ts";
import { isV4 } from "../ipam/subnet.ts";
import { requestedSubnet } from "../ipam/reserved.ts";
import { parseMac } from "../ipam/mac.ts";
import { formatPortSpec, overlaps, parsePortSpec, type PortSpec } from "../ports/spec.ts";

/**
 * The label every network created (or recreated) by `vmlan apply` carries. `apply --prune`
 * deletes only networks with this label, so hand-made networks are never pruned.
 */
export const MANAGED_LABEL_KEY = "vmlan.managed-by";
export const MANAGED_LABEL_VALUE = "apply";

export const isManaged = (labels: Record<string, string>): boolean => labels[MANAGED_LABEL_KEY] === MANAGED_LABEL_VALUE;

/** Runs one of the core's parsers (which throw UsageError naming the value) as a valibot step. */
function parsedBy<T>(parse: (s: string) => T) {
  return v.rawTransform<string, T>(({ dataset, addIssue, NEVER }) => {
    try {
      return parse(dataset.value);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      addIssue({ message: e.message });
      return NEVER;
    }
  });
}

const Subnet = v.pipe(v.string(), parsedBy((s) => (requestedSubnet(s, "v4"), s)));
const SubnetV6 = v.pipe(v.string(), parsedBy((s) => requestedSubnet(s, "v6")));
const Mtu = v.pipe(
  v.number(),
  v.integer((i) => `invalid MTU ${i.input}: expected a whole number`),
  v.minValue(576, (i) => `invalid MTU ${i.input}: expected 576 to 65535`),
  v.maxValue(65535, (i) => `invalid MTU ${i.input}: expected 576 to 65535`),
);
const Ip = v.pipe(v.string(), v.check(isV4, (i) => `invalid IP address "${i.input}": expected IPv4 like 192.168.70.10`));
const Mac = v.pipe(v.string(), parsedBy(parseMac));
const PortSpecText = v.pipe(v.string(), parsedBy((s) => parsePortSpec(s)));
/** An attachment's published ports (`ports = ["8080:80"]`): each a spec, none overlapping another. */
const Ports = v.pipe(
  v.array(PortSpecText),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const list = dataset.value as PortSpec[];
    for (let i = 1; i < list.length; i++) {
      const j = list.slice(0, i).findIndex((o) => overlaps(o, list[i]!));
      if (j >= 0) addIssue({ message: `${formatPortSpec(list[i]!)} overlaps ${formatPortSpec(list[j]!)} given before it`, path: [{ type: "array", origin: "value", input: list, key: i, value: list[i] }] });
    }
  }),
);

export const FileAttachment = v.strictObject({
  id: InterfaceId,
  hostname: v.optional(Hostname),
  ip: v.optional(Ip),
  mac: v.optional(Mac),
  /** published ports, as `vmlan port add` takes them; absent: the stored ones stay as they are */
  ports: v.optional(Ports),
});
export type FileAttachment = v.InferOutput<typeof FileAttachment>;

export const FileNetwork = v.strictObject({
  name: NetworkName,
  mode: v.optional(NetworkMode, "shared"),
  subnet: v.optional(Subnet),
  subnet_v6: v.optional(SubnetV6),
  mtu: v.optional(Mtu),
  labels: v.optional(Labels, {}),
  /** vmlan's DHCP server on the network (default true) */
  dhcp: v.optional(v.boolean()),
  /** the guests' DNS domain (default "<name>.vmlan") */
  dns_domain: v.optional(DnsDomain),
  /** bridged networks: the host interface enslaved to the bridge */
  uplink: v.optional(Ifname),
  /** the host's address (default subnet + 1) and the addresses handed out (default the whole subnet) */
  gateway: v.optional(Ip),
  pool_start: v.optional(Ip),
  pool_end: v.optional(Ip),
  attachments: v.optional(v.array(FileAttachment), []),
});
export type FileNetwork = v.InferOutput<typeof FileNetwork>;

/** `version` is optional and only 1 exists; it is there so a later format can be told apart. */
export const ApplyFile = v.strictObject({
  version: v.optional(v.literal(1, (i) => `unsupported version ${JSON.stringify(i.input)}: this vmlan reads version 1`)),
  networks: v.optional(v.array(FileNetwork), []),
});
/** The top level alone: the networks are then validated one at a time (file.ts), so a huge bad file costs one entry's issues at a time. */
export const ApplyFileTop = v.strictObject({ ...ApplyFile.entries, networks: v.optional(v.array(v.unknown()), []) });
export type ApplyFile = v.InferOutput<typeof ApplyFile>;
/** What export writes: the same shape, before defaults are filled in. */
export type ApplyFileInput = v.InferInput<typeof ApplyFile>;

/** One problem in a file: where (`networks[1].subnet`) and what (naming the bad value). */
export interface Problem {
  path: string;
  message: string;
}

const BARE_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `["networks", 1, "subnet"]` → `networks[1].subnet`; odd keys are quoted: `labels["a b"]`. */
export function keyPath(keys: (string | number)[]): string {
  let out = "";
  for (const k of keys) {
    if (typeof k === "number") out += `[${k}]`;
    else if (BARE_KEY.test(k)) out += out ? `.${k}` : k;
    else out += `[${JSON.stringify(k)}]`;
  }
  return out || "(top level)";
}

/** Turns valibot's issues into problems with a key path (under `prefix`) and a message that names the value. */
export function issueProblems(issues: v.BaseIssue<unknown>[], prefix: (string | number)[] = []): Problem[] {
  return issues.map((issue) => {
    const keys = [...prefix, ...(issue.path ?? []).map((p) => p.key as string | number)];
    const path = keyPath(keys);
    if (issue.type === "strict_object" && issue.expected === "never") {
      return { path, message: `unknown key "${String(issue.input)}"` };
    }
    if (issue.type === "strict_object" && issue.input === undefined) {
      return { path, message: `missing required key ${issue.expected}` };
    }
    if (issue.kind === "schema" && issue.type !== "picklist" && issue.type !== "literal") {
      return { path, message: `expected ${issue.expected?.toLowerCase()}, got ${issue.received}` };
    }
    return { path, message: issue.message };
  });
}
