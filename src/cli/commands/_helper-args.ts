/**
 * `vmlan helper`'s flags and request, without citty: the command (helper.ts) declares these flags,
 * and main.ts's fast path (cli/helper-fast.ts) parses the same ones itself, so a helper's start
 * loads neither citty nor the command tree (bench helper: ready line and RSS).
 */
import { UsageError } from "../../core/errors.ts";
import { checkInterfaceId } from "../../core/resources/interface-id.ts";
import { applyOption, finishRequest, newRequest, type HelperRequest } from "../compat/helper-options.ts";
import type { HelperStyle } from "../compat/helper-run.ts";

/** vmnet-helper's options in its own order, so the first bad one is the one reported, as there. */
const VMNET_VALUE_OPTIONS = ["fd", "socket", "interface-id", "operation-mode", "shared-interface", "start-address", "end-address", "subnet-mask", "network", "stats-interval"] as const;
const VMNET_FLAGS = ["enable-tso", "enable-checksum-offload", "enable-isolation", "verbose"] as const;

export type HelperArgDef = { type: "string" | "boolean"; valueHint?: string; alias?: string; description: string };

export const HELPER_ARGS = {
  fd: { type: "string", valueHint: "FD", alias: "f", description: "Inherited, connected datagram socket fd (the VM's end is the other side of a socketpair)" },
  socket: { type: "string", valueHint: "PATH", alias: "s", description: "Bind a datagram socket at this path (0600, lock PATH.lock) and serve the first client" },
  network: { type: "string", valueHint: "NAME", description: "vmlan network (`shared` and `host`: the built-in ones, when no network has that name)" },
  "interface-id": { type: "string", valueHint: "UUID", alias: "i", description: "Stable interface id, a UUID: same id, same MAC and address" },
  id: { type: "string", valueHint: "ID", description: "Interface id, any name (vmlan's form of --interface-id; default: a new UUID)" },
  mac: { type: "string", valueHint: "MAC", description: "MAC address for the VM (default: derived from the id)" },
  "operation-mode": { type: "string", valueHint: "MODE", description: "shared (default), host or bridged, when --network is not given" },
  "start-address": { type: "string", valueHint: "ADDR", description: "Gateway of the network; guests get the next address up to --end-address" },
  "end-address": { type: "string", valueHint: "ADDR", description: "Last address handed out to guests" },
  "subnet-mask": { type: "string", valueHint: "MASK", description: "Subnet mask of the network, e.g. 255.255.255.0" },
  "shared-interface": { type: "string", valueHint: "NAME", description: "Host interface for --operation-mode bridged" },
  "enable-isolation": { type: "boolean", description: "This guest cannot reach other isolated guests, only the gateway and beyond" },
  "enable-tso": { type: "boolean", description: "TCP segmentation offload: 64 KiB frames (macOS: vmnet's; Linux: a vnet-header TAP; off via --broker)" },
  "enable-checksum-offload": { type: "boolean", description: "Checksum offload: the host side finishes checksums (macOS: vmnet's; Linux: a vnet-header TAP)" },
  "list-shared-interfaces": { type: "boolean", description: "Print the host interfaces bridged mode can use and exit" },
  "stats-interval": { type: "string", valueHint: "SECONDS", description: "Print counters (vmnet-helper's [stats] line) on stderr every S seconds" },
  verbose: { type: "boolean", alias: "v", description: "Debug lines on stderr" },
  version: { type: "boolean", description: "Print the vmnet-helper interface version this helper implements and exit" },
  keep: { type: "boolean", description: "Keep the attachment when the helper exits" },
  "allow-spoofing": { type: "boolean", description: "No anti-spoofing rules on the port (stored with the attachment): the VM may send from any MAC or address" },
  broker: { type: "boolean", description: "Get the host side from `vmlan broker` (TAP fd over its socket; no CAP_NET_ADMIN needed)" },
  "broker-socket": { type: "string", valueHint: "PATH", description: "Broker socket (default: /run/vmlan/broker.sock; see ENVIRONMENT in vmlan --help)" },
} satisfies Record<string, HelperArgDef>;

export type HelperArgs = { [K in keyof typeof HELPER_ARGS]?: (typeof HELPER_ARGS)[K]["type"] extends "boolean" ? boolean : string };

/** The checked request (throws UsageError naming the bad flag); pure: nothing is opened or allocated. */
export function helperRequest(args: HelperArgs): HelperRequest {
  const r: HelperRequest = newRequest();
  for (const name of VMNET_VALUE_OPTIONS) if (args[name] !== undefined) applyOption(r, name, args[name]);
  for (const name of VMNET_FLAGS) if (args[name]) applyOption(r, name);
  if (args.id !== undefined) {
    if (r.interfaceId !== undefined) throw new UsageError("conflicting arguments: --id and --interface-id name the same thing; give one");
    r.interfaceId = checkInterfaceId(args.id);
  }
  Object.assign(r, { mac: args.mac, keep: Boolean(args.keep), broker: Boolean(args.broker), brokerSocket: args["broker-socket"] });
  if (args["allow-spoofing"]) r.allowSpoofing = true; // absent: what the attachment has stored
  finishRequest(r);
  return r;
}

/**
 * Linux (not the tests' darwin-double platform): through the services daemon when it runs (helper-service/), else in this process.
 * VMLAN_HELPER_IN_PROCESS=1 skips the daemon (the bench compares both paths).
 */
export async function runHelperArgs(r: HelperRequest, style: HelperStyle = "vmlan"): Promise<number> {
  if (!r.broker && process.platform === "linux" && !process.env.VMLAN_PLATFORM && process.env.VMLAN_HELPER_IN_PROCESS !== "1") {
    const { runViaDaemon } = await import("../helper-service/run.ts");
    const code = await runViaDaemon(r, style);
    if (code !== null) return code;
  }
  const { runHelperRequest } = await import("../compat/helper-run.ts");
  return runHelperRequest(r, style);
}
