/**
 * vmnet-helper's command line with its meaning (nirs/vmnet-helper programs/options.c, read for the
 * facts): each option checked as it comes, then the cross-option rules in vmnet-helper's order.
 * `vmlan helper` and the binary started as `vmnet-helper` share these checks and messages; only the
 * exit code differs (vmnet-helper exits 1 on every error, vmlan's usage code is 2).
 */
import { UsageError } from "../../core/errors.ts";
import type { OptSpec } from "./getopt.ts";
import { inetAton } from "./inet-aton.ts";

export type OperationMode = "shared" | "host" | "bridged";
const MODES: readonly OperationMode[] = ["shared", "bridged", "host"];

export interface HelperRequest {
  fd?: number;
  socket?: string;
  /** Canonical (uppercase) UUID from --interface-id, or vmlan's free-form --id. */
  interfaceId?: string;
  operationMode?: OperationMode;
  /** Dotted quads, normalised from what inet_aton accepts. */
  startAddress?: string;
  endAddress?: string;
  subnetMask?: string;
  sharedInterface?: string;
  network?: string;
  isolation: boolean;
  tso: boolean;
  checksumOffload: boolean;
  statsInterval?: number;
  verbose: boolean;
  // vmlan's own
  mac?: string;
  keep: boolean;
  /** `--allow-spoofing` (vmlan's own): no anti-spoofing rules on the port; absent: as the attachment has it stored. */
  allowSpoofing?: boolean;
  broker: boolean;
  brokerSocket?: string;
}

export const newRequest = (): HelperRequest => ({ isolation: false, tso: false, checksumOffload: false, verbose: false, keep: false, broker: false });

/** vmnet-helper's options (long, short, takes a value), as its getopt_long table has them. */
export const VMNET_HELPER_OPTIONS: OptSpec[] = [
  { long: "fd", short: "f", arg: true },
  { long: "socket", short: "s", arg: true },
  { long: "interface-id", short: "i", arg: true },
  { long: "operation-mode", arg: true },
  { long: "shared-interface", arg: true },
  { long: "start-address", arg: true },
  { long: "end-address", arg: true },
  { long: "subnet-mask", arg: true },
  { long: "enable-tso", arg: false },
  { long: "enable-checksum-offload", arg: false },
  { long: "enable-isolation", arg: false },
  { long: "list-shared-interfaces", arg: false },
  { long: "network", arg: true },
  { long: "stats-interval", arg: true },
  { long: "verbose", short: "v", arg: false },
  { long: "version", arg: false },
  { long: "help", short: "h", arg: false },
];

/** A usage error after which vmnet-helper also prints its usage text. */
const withUsage = (message: string) => new UsageError(message, { details: { usage: true } });
const q = (s: string) => JSON.stringify(s); // quotes and escapes control characters

/** vmnet-helper's limit, sun_path (104 bytes on macOS) minus its NUL; vmlan's --socket binder has the same. */
export const SOCKET_PATH_MAX = 103;
const INT_MAX = 2 ** 31 - 1;
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** strtol(3) base 10 over the whole string: leading blanks and a sign allowed, nothing after the digits. */
function strtol(s: string): number | null {
  return /^[ \t\n\v\f\r]*[+-]?\d+$/.test(s) ? Number(s.trim()) : null;
}

export function parseFdValue(v: string): number {
  const n = strtol(v);
  if (n === null || n < 0 || n > INT_MAX) throw withUsage(`invalid --fd ${q(v)}: expected a file descriptor number`);
  return n;
}

export function parseInterfaceId(v: string): string {
  if (!UUID_RE.test(v)) throw new UsageError(`invalid --interface-id ${q(v)}: expected a UUID like 2835E074-9892-4A79-AFFB-7E41D2605678`);
  return v.toUpperCase();
}

export function parseStatsInterval(v: string): number {
  const n = strtol(v);
  if (n === null || n < 1 || n > INT_MAX) throw new UsageError(`invalid --stats-interval ${q(v)}: expected a whole number of seconds, 1 or more`);
  return n;
}

function address(flag: string, v: string): string {
  const a = inetAton(v);
  if (a === null) throw new UsageError(`invalid --${flag} ${q(v)}: expected an IPv4 address`);
  return a;
}

/** Checks one vmnet-helper option as getopt hands it over and records it. */
export function applyOption(r: HelperRequest, name: string, value = ""): void {
  switch (name) {
    case "fd": r.fd = parseFdValue(value); break;
    case "socket":
      if (Buffer.byteLength(value) > SOCKET_PATH_MAX) throw withUsage(`invalid --socket ${q(value)}: ${Buffer.byteLength(value)} bytes, over the ${SOCKET_PATH_MAX} a unix socket path can hold`);
      r.socket = value;
      break;
    case "interface-id": r.interfaceId = parseInterfaceId(value); break;
    case "operation-mode":
      if (!MODES.includes(value as OperationMode)) throw new UsageError(`invalid --operation-mode ${q(value)}: use shared, bridged or host`);
      r.operationMode = value as OperationMode;
      break;
    case "shared-interface": r.sharedInterface = value; break;
    case "start-address": r.startAddress = address(name, value); break;
    case "end-address": r.endAddress = address(name, value); break;
    case "subnet-mask": r.subnetMask = address(name, value); break;
    case "enable-tso": r.tso = true; break;
    case "enable-checksum-offload": r.checksumOffload = true; break;
    case "enable-isolation": r.isolation = true; break;
    case "network": r.network = value; break;
    case "stats-interval": r.statsInterval = parseStatsInterval(value); break;
    case "verbose": r.verbose = true; break;
    default: throw new Error(`no such vmnet-helper option: ${name}`);
  }
}

const NETWORK_EXCLUDES: Array<[keyof HelperRequest, string]> = [
  ["operationMode", "--operation-mode"], ["sharedInterface", "--shared-interface"],
  ["startAddress", "--start-address"], ["endAddress", "--end-address"], ["subnetMask", "--subnet-mask"],
];

/** The cross-option rules, in vmnet-helper's order; returns the request with the mode filled in. */
export function finishRequest(r: HelperRequest): HelperRequest {
  if (r.network !== undefined) {
    for (const [key, flag] of NETWORK_EXCLUDES) {
      if (r[key] !== undefined) throw new UsageError(`conflicting arguments: --network cannot be used with ${flag}`);
    }
  } else {
    const mode = r.operationMode ?? "shared";
    if (mode === "bridged") {
      if (r.sharedInterface === undefined) throw new UsageError("missing argument: --shared-interface is required with --operation-mode bridged");
      if (r.isolation) throw new UsageError("conflicting arguments: --enable-isolation cannot be used with bridged mode");
    } else {
      const given = [r.startAddress, r.endAddress, r.subnetMask].filter((a) => a !== undefined).length;
      if (given !== 0 && given !== 3) throw new UsageError("--start-address, --end-address and --subnet-mask must be given together, or all omitted");
    }
  }
  if (r.fd === undefined && r.socket === undefined) throw withUsage("missing argument: either --fd or --socket is required");
  if (r.fd !== undefined && r.socket !== undefined) throw withUsage("conflicting arguments: --fd and --socket are mutually exclusive");
  if (r.broker && (r.operationMode !== undefined || r.startAddress !== undefined || r.isolation)) {
    throw new UsageError("conflicting arguments: --broker joins a named network as it is; --operation-mode, the address options and --enable-isolation need the helper's own port");
  }
  return r;
}

/** Whether vmnet-helper prints its usage text after this error. */
export const printsUsage = (e: unknown) => e instanceof UsageError && e.details?.usage === true;
