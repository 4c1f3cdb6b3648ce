/**
 * `vmlan export`: the stored state as an apply file. Every network except the built-in one, with
 * its subnet(s), mode (and uplink), MTU, DHCP/DNS settings and labels (minus the managed label, which apply adds itself), and
 * its active attachments as reservations with explicit ip, mac and hostname, so applying the
 * export to a fresh state dir gives the same addresses and MACs back (and their published ports).
 */
import type { Store } from "../store/store.ts";
import { intToV4, parseSubnetV4, gatewayV4 } from "../ipam/subnet.ts";
import { hasAddress } from "../ipam/allocator.ts";
import { defaultDhcp } from "../resources/network.ts";
import { MANAGED_LABEL_KEY, type ApplyFileInput } from "./schema.ts";
import { shortPortSpec } from "../ports/spec.ts";

const defaultGateway = (subnet: string) => intToV4(gatewayV4(parseSubnetV4(subnet)));

type ExportNetwork = NonNullable<ApplyFileInput["networks"]>[number];

export function exportState(store: Store): ApplyFileInput {
  const networks: ExportNetwork[] = store.listNetworks().filter((n) => !n.builtin).map((n) => {
    const labels = Object.fromEntries(Object.entries(n.labels).filter(([k]) => k !== MANAGED_LABEL_KEY).sort(([a], [b]) => a.localeCompare(b)));
    // Bridged networks' leases have no address (the LAN's DHCP assigns it): id, hostname and MAC only.
    const attachments = store.listLeases(n.name).map((l) => {
      const ports = store.ports.list(n.name, l.id).map(shortPortSpec);
      return { id: l.id, hostname: l.hostname, ...(hasAddress(l) ? { ip: intToV4(l.addr) } : {}), mac: l.mac, ...(ports.length ? { ports } : {}) };
    });
    return {
      name: n.name, mode: n.mode, ...(n.uplink ? { uplink: n.uplink } : {}), subnet: n.subnet, ...(n.subnetV6 ? { subnet_v6: n.subnetV6 } : {}), mtu: n.mtu,
      ...(Object.keys(labels).length ? { labels } : {}),
      // Defaults (DHCP on, off on bridged networks; domain "<name>.vmlan") are left out, as a person would write the file.
      ...(n.dhcp !== defaultDhcp(n.mode) ? { dhcp: n.dhcp } : {}), ...(n.dnsDomain ? { dns_domain: n.dnsDomain } : {}),
      ...(n.gateway !== defaultGateway(n.subnet) ? { gateway: n.gateway } : {}),
      ...(n.poolStart !== null && n.poolEnd !== null ? { pool_start: n.poolStart, pool_end: n.poolEnd } : {}),
      ...(attachments.length ? { attachments } : {}),
    };
  });
  return { version: 1, networks };
}

export function toJson(doc: ApplyFileInput): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

const BARE = /^[A-Za-z0-9_-]+$/;
// JSON string escapes (\" \\ \n \uXXXX ...) are all valid TOML basic-string escapes.
const str = (s: string) => JSON.stringify(s);
const key = (k: string) => (BARE.test(k) ? k : str(k));

function value(x: unknown): string {
  if (typeof x === "string") return str(x);
  if (typeof x === "number" || typeof x === "boolean") return String(x);
  if (Array.isArray(x)) return `[${x.map(value).join(", ")}]`;
  if (x && typeof x === "object") return `{ ${Object.entries(x).map(([k, v]) => `${key(k)} = ${value(v)}`).join(", ")} }`;
  throw new Error(`cannot write ${typeof x} as TOML`);
}

/** Scalars, arrays of scalars and inline tables as `key = value` lines; arrays of tables are written by the caller. */
function pairs(o: object): string[] {
  const tables = (v: unknown) => Array.isArray(v) && v.some((x) => x && typeof x === "object");
  return Object.entries(o).filter(([, v]) => v !== undefined && !tables(v)).map(([k, v]) => `${key(k)} = ${value(v)}`);
}

export function toToml(doc: ApplyFileInput, header: string[] = []): string {
  const lines = [...header.map((h) => `# ${h}`), `version = ${doc.version ?? 1}`];
  const networks = doc.networks ?? [];
  if (networks.length === 0) lines.push("networks = []");
  for (const n of networks) {
    lines.push("", "[[networks]]", ...pairs(n));
    for (const a of n.attachments ?? []) lines.push("", "[[networks.attachments]]", ...pairs(a));
  }
  return `${lines.join("\n")}\n`;
}
