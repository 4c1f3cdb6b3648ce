/**
 * Checks across entries of one apply file, after the schema has checked each value: duplicate
 * names, subnets overlapping each other, fixed addresses outside their subnet, and attachments
 * that would collide on one network. Pure: no store, no host. Overlaps are found by a sweep over
 * the subnets sorted by address (O(n log n)), so a file with many networks stays fast.
 */
import { DEFAULT_NETWORK } from "../resources/network.ts";
import { isReservedHostname, RESERVED_HINT } from "../resources/reserved-names.ts";
import { parseSubnetV4, parseSubnetV6, v4ToInt, gatewayV4, type SubnetV4 } from "../ipam/subnet.ts";
import { MANAGED_LABEL_KEY, keyPath, type FileNetwork, type FileAttachment, type Problem } from "./schema.ts";
import { checkModeOptions } from "../network-config.ts";
import { UsageError } from "../errors.ts";

/** Where problems go (file.ts's collector keeps the first few and counts the rest). */
export interface ProblemSink { add(ps: readonly Problem[]): void }

export function checkFile(networks: FileNetwork[], sink: ProblemSink): void {
  const overlaps = overlapProblems(networks);
  const problems = { push: (...ps: Problem[]) => sink.add(ps) };
  const firstByName = new Map<string, number>();
  const firstUplink = new Map<string, number>();
  networks.forEach((n, i) => {
    const at = (...k: (string | number)[]) => keyPath(["networks", i, ...k]);
    if (n.name === DEFAULT_NETWORK.name) {
      problems.push({ path: at("name"), message: `"${n.name}" is the built-in network; apply does not manage it` });
    }
    const first = firstByName.get(n.name);
    if (first === undefined) firstByName.set(n.name, i);
    else problems.push({ path: at("name"), message: `duplicate network name "${n.name}" (also networks[${first}])` });
    if (MANAGED_LABEL_KEY in n.labels) {
      problems.push({ path: at("labels", MANAGED_LABEL_KEY), message: `label "${MANAGED_LABEL_KEY}" is set by apply itself; remove it from the file` });
    }
    problems.push(...(overlaps.get(i) ?? []));
    problems.push(...modeProblems(n, networks, firstUplink, at));
    if (n.uplink !== undefined && !firstUplink.has(n.uplink)) firstUplink.set(n.uplink, i);
    problems.push(...checkAttachments(n, (k, field) => at("attachments", k, field)));
  });
}

/**
 * Per entry, its overlap with an earlier entry (v4 and v6 separately; same-named entries are
 * duplicates, reported as such). Sorted by start address, an entry overlaps an earlier one exactly
 * when it starts before the furthest end seen so far; that entry is named.
 */
function overlapProblems(networks: FileNetwork[]): Map<number, Problem[]> {
  const out = new Map<number, Problem[]>();
  type Span = { i: number; start: bigint; end: bigint };
  const sweep = (spans: Span[], report: (later: number, earlier: number) => Problem) => {
    spans.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.i - b.i));
    let far: Span | null = null;
    for (const s of spans) {
      if (far && s.start < far.end && networks[far.i]!.name !== networks[s.i]!.name) {
        const [later, earlier] = s.i > far.i ? [s.i, far.i] : [far.i, s.i];
        out.set(later, [...(out.get(later) ?? []), report(later, earlier)]);
      }
      if (!far || s.end > far.end) far = s;
    }
  };
  const v4: Span[] = [];
  const v6: Span[] = [];
  networks.forEach((n, i) => {
    if (n.subnet) {
      const s = parseSubnetV4(n.subnet);
      v4.push({ i, start: BigInt(s.base), end: BigInt(s.base) + BigInt(s.size) });
    }
    if (n.subnet_v6) {
      const s = parseSubnetV6(n.subnet_v6);
      v6.push({ i, start: s.base, end: s.base + (1n << BigInt(128 - s.prefix)) });
    }
  });
  const at = (i: number, k: string) => keyPath(["networks", i, k]);
  sweep(v4, (l, e) => ({ path: at(l, "subnet"), message: `subnet ${networks[l]!.subnet} overlaps networks[${e}] "${networks[e]!.name}" (${networks[e]!.subnet})` }));
  sweep(v6, (l, e) => ({ path: at(l, "subnet_v6"), message: `IPv6 prefix ${networks[l]!.subnet_v6} overlaps networks[${e}] "${networks[e]!.name}" (${networks[e]!.subnet_v6})` }));
  return out;
}

/** Bridged networks: an uplink (one network each), no vmlan services, no fixed addresses; others: no uplink. */
/** `firstUplink`: the first entry before this one with each uplink (a map, so a long file stays linear). */
function modeProblems(n: FileNetwork, networks: FileNetwork[], firstUplink: Map<string, number>, at: (...k: (string | number)[]) => string): Problem[] {
  try {
    checkModeOptions({ mode: n.mode, uplink: n.uplink, subnetV6: n.subnet_v6, dhcp: n.dhcp, dnsDomain: n.dns_domain });
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    return [{ path: at(n.uplink === undefined ? "mode" : "uplink"), message: e.message }];
  }
  const out: Problem[] = [];
  const other = n.uplink === undefined ? undefined : firstUplink.get(n.uplink);
  if (other !== undefined) out.push({ path: at("uplink"), message: `uplink ${n.uplink} is also the uplink of networks[${other}] "${networks[other]!.name}"` });
  n.attachments.forEach((a, k) => {
    if (n.mode === "bridged" && a.ip !== undefined) out.push({ path: at("attachments", k, "ip"), message: `fixed IP ${a.ip} on bridged network "${n.name}": the LAN's DHCP server assigns the addresses there` });
  });
  return out;
}

type At = (index: number, field: string) => string;

function checkAttachments(n: FileNetwork, at: At): Problem[] {
  const problems: Problem[] = [];
  const subnet = n.subnet ? parseSubnetV4(n.subnet) : null;
  // Each map remembers the first attachment that used a value, to name it in the duplicate's message.
  const seen = { id: new Map<string, number>(), ip: new Map<string, number>(), mac: new Map<string, number>(), hostname: new Map<string, number>() };
  const dup = (field: keyof typeof seen, value: string, k: number, what: string) => {
    const first = seen[field].get(value);
    if (first === undefined) seen[field].set(value, k);
    else problems.push({ path: at(k, field), message: `duplicate ${what} "${value}" on network "${n.name}" (also attachments[${first}])` });
  };
  n.attachments.forEach((a: FileAttachment, k) => {
    dup("id", a.id, k, "id");
    if (a.ip !== undefined && n.mode !== "bridged") { // bridged: refused by modeProblems
      if (!subnet) problems.push({ path: at(k, "ip"), message: `fixed IP ${a.ip} needs the network's subnet in the file` });
      else {
        const bad = ipProblem(subnet, n.name, a.ip, n.gateway);
        if (bad) problems.push({ path: at(k, "ip"), message: bad });
      }
      dup("ip", a.ip, k, "IP address");
    }
    if (a.mac !== undefined) dup("mac", a.mac, k, "MAC address");
    // Without a hostname the allocator derives one from the id and keeps it unique by itself.
    if (a.hostname !== undefined) dup("hostname", a.hostname, k, "hostname");
    if (a.hostname !== undefined && isReservedHostname({ name: n.name, dnsDomain: n.dns_domain ?? null }, a.hostname)) {
      problems.push({ path: at(k, "hostname"), message: `hostname "${a.hostname}" is reserved on network "${n.name}" (${RESERVED_HINT})` });
    }
  });
  return problems;
}

/** Why `ip` cannot be reserved on `subnet` (outside it, or its network, broadcast or gateway address), or null. */
function ipProblem(s: SubnetV4, name: string, ip: string, gateway?: string): string | null {
  const x = v4ToInt(ip);
  if (x < s.base || x >= s.base + s.size) return `IP address ${ip} is outside the subnet ${s.cidr} of "${name}"`;
  if (x === s.base) return `IP address ${ip} is the network address of ${s.cidr}`;
  if (x === s.base + s.size - 1) return `IP address ${ip} is the broadcast address of ${s.cidr}`;
  if (x === (gateway !== undefined ? v4ToInt(gateway) : gatewayV4(s))) return `IP address ${ip} is the gateway of "${name}"`;
  return null;
}
