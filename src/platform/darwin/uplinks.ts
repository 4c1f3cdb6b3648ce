/**
 * Bridged networks on macOS: vmnet's bridged mode (VMNET_BRIDGED_MODE with
 * vmnet_shared_interface_name_key) bridges each started interface to a host interface itself, so
 * there is nothing to create or move; vmlan only checks that vmnet offers the uplink
 * (vmnet_copy_shared_interface_list, the list vmnet-helper --list-shared-interfaces prints) and
 * reads the LAN's subnet from the interface (ifconfig, route: macOS's own tools, Mac only).
 */
import { vmnetShim } from "../../../ffi/vmnet/load.ts";
import { HostError, NotFoundError } from "../../core/errors.ts";
import type { HostNetworkStatus, UplinkCandidate, UplinkInfo } from "../types.ts";

/** Names are short; 4 KiB holds a few hundred of them. Grown once if vmnet's list is longer. */
const LIST_CAP = 4096;

/** The interfaces vmnet can bridge, in vmnet's order. */
export function sharedInterfaces(): string[] {
  for (let cap = LIST_CAP; ; cap *= 4) {
    const buf = new Uint8Array(new ArrayBuffer(cap));
    const n = Number(vmnetShim().vmlan_shared_interfaces(buf, cap));
    if (n < 0) throw new HostError("vmnet gave no list of shared interfaces (vmnet_copy_shared_interface_list returned NULL)");
    if (n < cap) return new TextDecoder().decode(buf.subarray(0, n)).split("\n").filter(Boolean);
  }
}

/** What `ifconfig NAME` says (macOS format): link up, MTU, IPv4 addresses with their prefix. */
export function parseIfconfig(text: string): { up: boolean; mtu: number | null; ipv4: string[] } {
  const first = text.split("\n")[0] ?? "";
  const flags = /flags=\w+<([^>]*)>/.exec(first)?.[1]?.split(",") ?? [];
  const mtu = /\bmtu (\d+)/.exec(first);
  const ipv4 = [...text.matchAll(/^\s+inet (\d+\.\d+\.\d+\.\d+) netmask 0x([0-9a-f]{8})/gm)].map((m) => {
    const bits = Number.parseInt(m[2]!, 16).toString(2).replace(/0+$/, "").length;
    return `${m[1]}/${bits}`;
  });
  return { up: flags.includes("UP"), mtu: mtu ? Number(mtu[1]) : null, ipv4 };
}

/** The IPv4 default gateway if it leaves through `name` (`route -n get default`), else null. */
export function parseDefaultRoute(text: string, name: string): string | null {
  const gw = /^\s*gateway: (\d+\.\d+\.\d+\.\d+)$/m.exec(text)?.[1];
  const dev = /^\s*interface: (\S+)$/m.exec(text)?.[1];
  return gw && dev === name ? gw : null;
}

/** macOS's own tools; absent (Linux, against the double) means "unknown". */
function tool(argv: string[]): string {
  if (process.platform !== "darwin") return "";
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "ignore" });
  return r.exitCode === 0 ? r.stdout.toString() : "";
}

const describe = (name: string) => parseIfconfig(tool(["/sbin/ifconfig", name]));

export function listUplinks(): UplinkCandidate[] {
  return sharedInterfaces().map((name) => {
    const d = describe(name);
    return { name, state: process.platform === "darwin" ? (d.up ? "up" : "down") : "unknown", mtu: d.mtu, ipv4: d.ipv4 };
  });
}

/** The uplink if vmnet offers it; vmnet refuses the rest (loopback, bridges, VPNs) by leaving them out. */
export function probeUplink(name: string): UplinkInfo {
  const offered = sharedInterfaces();
  if (!offered.includes(name)) {
    throw new NotFoundError(`vmnet cannot bridge "${name}": it offers ${offered.length ? offered.join(", ") : "no interface"} (vmlan network uplinks)`, { details: { uplink: name, offered } });
  }
  const d = describe(name);
  // 1500 when ifconfig cannot tell: vmnet reports the real MTU when an interface starts.
  return { name, mtu: d.mtu ?? 1500, ipv4: d.ipv4, defaultGateway: parseDefaultRoute(tool(["/sbin/route", "-n", "get", "default"]), name) };
}

/** A bridged network has no host object of its own on macOS: it is up when vmnet offers its uplink. */
export function bridgedStatus(spec: { name: string; bridge: string; uplink?: string | null }): HostNetworkStatus {
  const base = { name: spec.name, bridge: spec.bridge, addresses: [], nat: false };
  const offered = sharedInterfaces();
  if (!spec.uplink || !offered.includes(spec.uplink)) return { ...base, up: false, detail: `vmnet does not offer uplink ${spec.uplink ?? "(none)"}` };
  return { ...base, up: true, detail: `vmnet bridges each VM's interface to ${spec.uplink} when it starts` };
}
