/**
 * socket_vmnet's command line with its meaning (lima-vm/socket_vmnet cli.c, read for the facts):
 * getopt_long over its option table, the defaults it fills in (socket group "staff"; with
 * --vmnet-gateway, a DHCP end of x.x.x.254 and a mask of 255.255.255.0), its warnings, and its
 * checks in its order. The binary started as `socket_vmnet` and `vmlan switch` share these; what the
 * request then means for a vmlan network is switch-network.ts.
 */
import { UsageError } from "../../core/errors.ts";
import type { OptSpec } from "./getopt.ts";
import { inetAton } from "./inet-aton.ts";

export type VmnetMode = "host" | "shared" | "bridged";
/** vmnet's operating_modes_t (vmnet.h), which socket_vmnet logs at start: host 1000, shared 1001, bridged 1002. */
export const VMNET_MODE_NUMBER: Record<VmnetMode, number> = { host: 1000, shared: 1001, bridged: 1002 };
export const DEFAULT_SOCKET_GROUP = "staff";

export interface SwitchRequest {
  socket?: string;
  /** vmlan's own: a vmlan network by name instead of the vmnet options. */
  network?: string;
  mode?: VmnetMode;
  /** Dotted quads, normalised from what inet_aton accepts. */
  gateway?: string;
  dhcpEnd?: string;
  mask?: string;
  iface?: string;
  /** Canonical (uppercase) UUIDs. */
  interfaceId?: string;
  networkIdentifier?: string;
  nat66Prefix?: string;
  disableDhcp: boolean;
  socketGroup?: string;
  pidfile?: string;
  verbose: boolean;
}

/** socket_vmnet's long options (cli.c longopts) and short ones ("hvp:"). */
export const SOCKET_VMNET_OPTIONS: OptSpec[] = [
  { long: "socket-group", arg: true },
  { long: "vmnet-mode", arg: true },
  { long: "vmnet-interface", arg: true },
  { long: "vmnet-gateway", arg: true },
  { long: "vmnet-dhcp-end", arg: true },
  { long: "vmnet-mask", arg: true },
  { long: "vmnet-interface-id", arg: true },
  { long: "vmnet-nat66-prefix", arg: true },
  { long: "vmnet-network-identifier", arg: true },
  { long: "vmnet-disable-dhcp", arg: false },
  { long: "pidfile", short: "p", arg: true },
  { long: "help", short: "h", arg: false },
  { long: "version", short: "v", arg: false },
];

export const newSwitchRequest = (): SwitchRequest => ({ disableDhcp: false, verbose: false });

const q = (s: string) => JSON.stringify(s); // quotes and escapes control characters
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** uuid_parse(3): the 36-character form; socket_vmnet's own message on failure. */
function uuid(v: string, what: string): string {
  if (!UUID_RE.test(v)) throw new UsageError(`Failed to parse ${what}UUID ${q(v)}`);
  return v.toUpperCase();
}

/** An IPv6 prefix as inet_pton(AF_INET6) takes it (e.g. fd00:1:2:3::); socket_vmnet requires a ULA, fd00::/8. */
function nat66(v: string): string {
  const ok = /^[0-9a-fA-F:]+$/.test(v) && v.includes("::") && v.split("::").length === 2 && v.split(":").every((g) => g.length <= 4);
  if (!ok || !/^fd/i.test(v)) throw new UsageError(`invalid IPv6 prefix ${q(v)} for --vmnet-nat66-prefix: expected a ULA like fd00:1234:5678:9abc::`);
  return v.toLowerCase();
}

/** Checks one socket_vmnet option as getopt hands it over and records it (cli.c's switch). */
export function applySwitchOption(r: SwitchRequest, name: string, value = ""): void {
  switch (name) {
    case "socket-group": r.socketGroup = value; break;
    case "vmnet-mode":
      if (value !== "host" && value !== "shared" && value !== "bridged") throw new UsageError(`Unknown vmnet mode ${q(value)}`);
      r.mode = value;
      break;
    case "vmnet-interface": r.iface = value; break;
    case "vmnet-gateway": r.gateway = value; break; // checked after the defaults, as cli.c does
    case "vmnet-dhcp-end": r.dhcpEnd = value; break;
    case "vmnet-mask": r.mask = value; break;
    case "vmnet-interface-id": r.interfaceId = uuid(value, ""); break;
    case "vmnet-network-identifier": r.networkIdentifier = uuid(value, "network identifier "); break;
    case "vmnet-nat66-prefix": r.nat66Prefix = nat66(value); break;
    case "vmnet-disable-dhcp": r.disableDhcp = true; break;
    case "pidfile": r.pidfile = value; break;
    default: throw new Error(`no such socket_vmnet option: ${name}`);
  }
}

function address(flag: string, v: string): string {
  const a = inetAton(v);
  if (a === null) throw new UsageError(`invalid address ${q(v)} was specified for --${flag}`);
  return a;
}

/**
 * The defaults and checks after the options, in cli.c's order. Returns the warnings socket_vmnet
 * prints (it goes on after them); throws UsageError for what makes it print usage and exit 1.
 */
export function finishSwitchRequest(r: SwitchRequest): string[] {
  const warnings: string[] = [];
  if (r.disableDhcp) {
    if (r.dhcpEnd !== undefined) warnings.push("--vmnet-dhcp-end is ignored with --vmnet-disable-dhcp: no DHCP server is started");
    if (r.interfaceId !== undefined) warnings.push("--vmnet-interface-id is ignored with --vmnet-disable-dhcp: vmnet_interface_start_with_network assigns its own interface id");
    if (r.networkIdentifier !== undefined) warnings.push("--vmnet-network-identifier is ignored with --vmnet-disable-dhcp: the macOS 26 vmnet network configuration API has no equivalent");
  }
  r.mode ??= "shared";
  if (r.gateway !== undefined) {
    r.gateway = address("vmnet-gateway", r.gateway);
    // x.x.x.254 whatever the mask, exactly as cli.c computes it.
    r.dhcpEnd = r.dhcpEnd === undefined ? `${r.gateway.split(".").slice(0, 3).join(".")}.254` : address("vmnet-dhcp-end", r.dhcpEnd);
    r.mask = r.mask === undefined ? "255.255.255.0" : address("vmnet-mask", r.mask);
  }
  if (r.mode === "bridged" && r.iface === undefined) throw new UsageError(`vmnet mode "bridged" require --vmnet-interface to be specified`);
  if (r.gateway === undefined) {
    if (r.mode === "shared" && r.network === undefined) warnings.push("--vmnet-gateway=IP should be explicitly specified to avoid conflicting with other applications");
    if (r.dhcpEnd !== undefined) throw new UsageError("--vmnet-dhcp-end=IP requires --vmnet-gateway=IP");
    if (r.mask !== undefined) throw new UsageError("--vmnet-mask=MASK requires --vmnet-gateway=IP");
  } else if (r.mode === "bridged") {
    throw new UsageError(`vmnet mode "bridged" conflicts with --vmnet-gateway`);
  }
  return warnings;
}
