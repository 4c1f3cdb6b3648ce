/**
 * The plugin configuration a runtime sends on stdin (SPEC.md §1, §3), validated with valibot.
 * Unknown keys are ignored (runtimes add their own); a bad value is one code-7 error naming the key.
 */
import * as v from "valibot";
import { NetworkName } from "../core/resources/names.ts";
import { CniError, ERR, escape } from "./protocol.ts";

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const absolute = v.pipe(v.string(), v.regex(/^\//, "must be an absolute path"));

/** vmlan's own keys, the same for the main plugin and the IPAM plugin. */
const VmlanKeys = {
  /** The vmlan network; default: the CNI network's `name`. */
  network: v.optional(NetworkName),
  /** Create the network on first use with this subnet / mode. */
  subnet: v.optional(v.string()),
  // Not bridged: a bridged network's addresses come from its LAN's DHCP, which vmlan's CNI result cannot name.
  mode: v.optional(v.picklist(["shared", "host"], (i) => `invalid mode "${escape(String(i.input))}": use shared or host (a container on a bridged network needs the LAN's DHCP: ipam type dhcp)`)),
  /** vmlan's state directory (the store); default: VMLAN_STATE_DIR, else /var/lib/vmlan. */
  stateDir: v.optional(absolute),
  /** The main plugin's containers may send from any MAC and address (no anti-spoofing rules on their veth). */
  allowSpoofing: v.optional(v.boolean()),
};

const ValidAttachment = v.object({ containerID: v.string(), ifname: v.string() });

export const PluginConf = v.looseObject({
  cniVersion: v.optional(v.string()),
  name: v.pipe(v.string(), v.regex(NAME_RE, "invalid characters found in network name")),
  type: v.pipe(v.string(), v.minLength(1)),
  // vmlan's keys at the top level only mean something when type is vmlan (macvlan has its own "mode").
  network: v.optional(v.unknown()),
  subnet: v.optional(v.unknown()),
  mode: v.optional(v.unknown()),
  stateDir: v.optional(v.unknown()),
  allowSpoofing: v.optional(v.unknown()),
  ipam: v.optional(v.looseObject({ type: v.string(), ...VmlanKeys })),
  runtimeConfig: v.optional(v.looseObject({
    ips: v.optional(v.array(v.string())),
    mac: v.optional(v.string()),
  })),
  args: v.optional(v.looseObject({ cni: v.optional(v.looseObject({ ips: v.optional(v.array(v.string())), mac: v.optional(v.string()) })) })),
  prevResult: v.optional(v.looseObject({})),
  "cni.dev/valid-attachments": v.optional(v.array(ValidAttachment)),
});
export type PluginConf = v.InferOutput<typeof PluginConf>;

/** What one invocation works on, whichever role vmlan plays in it. */
export interface Target {
  role: "main" | "ipam";
  network: string;
  subnet?: string;
  mode?: "shared" | "host";
  stateDir?: string;
  /** Main plugin only: no anti-spoofing rules on the containers' veths. */
  allowSpoofing?: boolean;
}

const MainKeys = v.looseObject(VmlanKeys);

function invalid(issues: [v.BaseIssue<unknown>, ...v.BaseIssue<unknown>[]]): CniError {
  const issue = issues[0];
  const path = issue.path?.map((p) => String(p.key)).join(".") ?? "";
  const value = issue.input === undefined ? "" : ` ${escape(JSON.stringify(issue.input) ?? "")}`;
  return new CniError(ERR.INVALID_CONFIG, `invalid network config: ${path || "(root)"}${value}: ${issue.message}`);
}

/** Parses stdin: not JSON → code 6; no name → 7; a bad key → 7 naming it and its value. */
export function parseConf(stdin: string): PluginConf {
  let raw: unknown;
  try {
    raw = JSON.parse(stdin);
  } catch (e) {
    throw new CniError(ERR.DECODE, `error unmarshalling network config: ${(e as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new CniError(ERR.DECODE, "error unmarshalling network config: not a JSON object");
  if (!("name" in raw) || (raw as { name: unknown }).name === "") throw new CniError(ERR.INVALID_CONFIG, "missing network name");
  const out = v.safeParse(PluginConf, raw);
  if (!out.success) throw invalid(out.issues);
  if (out.output.type === "vmlan") {
    const main = v.safeParse(MainKeys, raw);
    if (!main.success) throw invalid(main.issues);
  }
  return out.output;
}

/** vmlan as the main plugin (`type: vmlan`) or as the IPAM plugin under another (`ipam.type: vmlan`). */
export function targetOf(conf: PluginConf): Target {
  if (conf.type === "vmlan") {
    if (conf.ipam && Object.keys(conf.ipam).length > 0) {
      throw new CniError(ERR.UNSUPPORTED_FIELD, `unsupported field "ipam" (type ${escape(conf.ipam.type)}): vmlan assigns addresses itself; drop the ipam section`);
    }
    const k = conf as unknown as v.InferOutput<typeof MainKeys>; // checked by parseConf for type vmlan
    return { role: "main", network: k.network ?? conf.name, subnet: k.subnet, mode: k.mode, stateDir: k.stateDir, allowSpoofing: k.allowSpoofing };
  }
  if (conf.ipam?.type === "vmlan") {
    const i = conf.ipam;
    if (i.subnet !== undefined || i.mode !== undefined) {
      throw new CniError(ERR.UNSUPPORTED_FIELD, `unsupported field "ipam.${i.subnet !== undefined ? "subnet" : "mode"}": as IPAM, vmlan uses an existing network (create it with vmlan network create)`);
    }
    if (i.allowSpoofing !== undefined) {
      throw new CniError(ERR.UNSUPPORTED_FIELD, `unsupported field "ipam.allowSpoofing": as IPAM, vmlan makes no port (the main plugin ${escape(conf.type)} makes the veth)`);
    }
    return { role: "ipam", network: i.network ?? conf.name, stateDir: i.stateDir };
  }
  throw new CniError(ERR.INVALID_CONFIG, `vmlan was called for type "${escape(conf.type)}" with ipam type "${escape(conf.ipam?.type ?? "none")}"; expected type vmlan or ipam.type vmlan`);
}

/** A static address and MAC the runtime asked for: runtimeConfig (capabilities), args.cni, or CNI_ARGS IP=/MAC=. */
export function requested(conf: PluginConf, args: Map<string, string>): { ip?: string; mac?: string } {
  const ips = conf.runtimeConfig?.ips ?? conf.args?.cni?.ips ?? (args.has("IP") ? [args.get("IP")!] : []);
  const v4 = ips.map((s) => s.split("/")[0]!).find((s) => s.includes("."));
  const mac = conf.runtimeConfig?.mac ?? conf.args?.cni?.mac ?? args.get("MAC");
  return { ...(v4 ? { ip: v4 } : {}), ...(mac ? { mac: mac.toLowerCase() } : {}) };
}

/** The DNS name a container asks for: K8S_POD_NAME (podman sets it to the container's name). */
export const wantedName = (args: Map<string, string>): string | undefined => args.get("K8S_POD_NAME") || undefined;
