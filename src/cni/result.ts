/**
 * CNI results (SPEC.md §5) in one internal shape, written out per spec version: 0.3.x and 0.4.0
 * carry `version` ("4"/"6") on each IP; 1.x drops it; `mtu` on interfaces exists from 1.1.0 on.
 */
import { compareVersions, type SpecVersion } from "./protocol.ts";

export interface Iface { name: string; mac?: string; mtu?: number; sandbox?: string }
export interface IpConfig { address: string; gateway?: string; interface?: number }
export interface Route { dst: string; gw?: string }
export interface Dns { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] }
export interface Result { interfaces?: Iface[]; ips: IpConfig[]; routes?: Route[]; dns?: Dns }

const family = (cidr: string) => (cidr.includes(":") ? "6" : "4");

export function encodeResult(r: Result, version: SpecVersion): Record<string, unknown> {
  const legacy = compareVersions(version, "1.0.0") < 0;
  const withMtu = compareVersions(version, "1.1.0") >= 0;
  const out: Record<string, unknown> = { cniVersion: version };
  if (r.interfaces) out.interfaces = r.interfaces.map((i) => (withMtu ? i : { name: i.name, mac: i.mac, sandbox: i.sandbox }));
  out.ips = r.ips.map((ip) => (legacy ? { version: family(ip.address), ...ip } : ip));
  if (r.routes) out.routes = r.routes;
  if (r.dns) out.dns = r.dns;
  return out;
}

/** A prevResult of any supported version in the internal shape (unknown keys dropped). */
export function decodeResult(raw: Record<string, unknown>): Result {
  const arr = (k: string) => (Array.isArray(raw[k]) ? (raw[k] as Record<string, unknown>[]) : []);
  const str = (x: unknown) => (typeof x === "string" ? x : undefined);
  return {
    interfaces: arr("interfaces").map((i) => ({ name: str(i.name) ?? "", mac: str(i.mac), sandbox: str(i.sandbox), ...(typeof i.mtu === "number" ? { mtu: i.mtu } : {}) })),
    ips: arr("ips").map((i) => ({ address: str(i.address) ?? "", gateway: str(i.gateway), ...(typeof i.interface === "number" ? { interface: i.interface } : {}) })),
    routes: arr("routes").map((r) => ({ dst: str(r.dst) ?? "", ...(str(r.gw) ? { gw: str(r.gw) } : {}) })),
    ...(raw.dns && typeof raw.dns === "object" ? { dns: raw.dns as Dns } : {}),
  };
}

/** Appends our interfaces, IPs and routes to a previous result (ADD must pass prevResult through). */
export function mergeResult(prev: Result | null, ours: Result): Result {
  if (!prev) return ours;
  const base = prev.interfaces?.length ?? 0;
  return {
    interfaces: [...(prev.interfaces ?? []), ...(ours.interfaces ?? [])],
    ips: [...prev.ips, ...ours.ips.map((ip) => (ip.interface === undefined ? ip : { ...ip, interface: ip.interface + base }))],
    routes: [...(prev.routes ?? []), ...(ours.routes ?? [])],
    dns: prev.dns && Object.keys(prev.dns).length ? prev.dns : ours.dns,
  };
}
