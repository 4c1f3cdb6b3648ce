import * as v from "valibot";
import { INTERFACE_ID_RE, interfaceIdProblem } from "./interface-id.ts";

/**
 * Network names: what users type and what ends up (shortened) in a Linux interface name.
 * First character alphanumeric, then alphanumerics, '_', '.', '-'; at most 64 bytes.
 * Bridge names are derived from it (see bridgeNameFor) and checked unique by the store.
 */
export const NETWORK_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
export const NetworkName = v.pipe(
  v.string(),
  v.regex(NETWORK_NAME_RE, (i) => `invalid network name "${i.input}": use 1-64 letters, digits, '_', '.', '-', starting with a letter or digit`),
);

/** Interface ids: what a VM tool passes with --id (a UUID, a VM name, ...); the rule is interface-id.ts's. */
export { INTERFACE_ID_RE };
export const InterfaceId = v.pipe(v.string(), v.regex(INTERFACE_ID_RE, (i) => interfaceIdProblem(i.input)));

/** RFC 1123 host label, lowercase on the wire; at most 63 bytes. */
export const HOSTNAME_RE = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
export const Hostname = v.pipe(
  v.string(),
  v.regex(HOSTNAME_RE, (i) => `invalid hostname "${i.input}": use 1-63 letters, digits and '-', not starting or ending with '-'`),
);

/** A DNS domain for a network's guests ("lab.example"): lowercase RFC 1123 labels, no trailing dot, <= 253 bytes. */
export const DNS_DOMAIN_RE = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
export const DnsDomain = v.pipe(
  v.string(),
  v.regex(DNS_DOMAIN_RE, (i) => `invalid DNS domain "${i.input}": use lowercase labels of letters, digits and '-' separated by dots, e.g. lab.example`),
);

/** Linux IFNAMSIZ is 16 including the terminating NUL. */
export const IFNAME_MAX = 15;
const BRIDGE_PREFIX = "vl-";

/**
 * A host interface name as a user gives it (--uplink): 1-15 bytes, none of '/', ':', whitespace or
 * control characters (what the kernel's dev_valid_name refuses, narrowed to printable ASCII).
 */
export const IFNAME_RE = /^[a-zA-Z0-9_.@+-][a-zA-Z0-9_.@+=-]{0,14}$/;
export const Ifname = v.pipe(
  v.string(),
  v.check((s) => IFNAME_RE.test(s) && s !== "." && s !== "..", (i) => `invalid interface name "${i.input}": use 1-15 letters, digits, '_', '.', '-', '@', '+', '='`),
);

/**
 * Bridged networks' bridges start with "vlb-", not "vl-": every vmlan table drops traffic from its
 * bridge to "vl-*" (networks cannot reach each other), but a bridged network is the host's way to
 * the LAN, and the host's default route moves onto its bridge, so shared networks must reach it.
 */
const BRIDGED_PREFIX = "vlb-";

/**
 * The bridge (Linux) name for a network: "vl-<name>" (bridged: "vlb-<name>") when it fits in 15
 * bytes, else the prefix, the first letters of the name and 5 hex of a hash. Uniqueness is enforced
 * by the store; `salt` lets the caller pick another hash on the (unlikely) collision.
 */
export function bridgeNameFor(name: string, salt = 0, bridged = false): string {
  const prefix = bridged ? BRIDGED_PREFIX : BRIDGE_PREFIX;
  const plain = prefix + name;
  if (salt === 0 && plain.length <= IFNAME_MAX) return plain;
  const h = Bun.hash.wyhash(`${name}#${salt}`).toString(16).padStart(5, "0").slice(-5);
  return `${prefix}${name.slice(0, IFNAME_MAX - prefix.length - 6)}-${h}`;
}

const LOWER_LABEL_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Default hostname for an interface id: the id reduced to a valid host label. */
export function hostnameFor(id: string): string {
  if (LOWER_LABEL_RE.test(id)) return id; // most ids are a label already ("vm1", "web-2")
  let h = id.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63).replace(/-+$/, "");
  if (!h) h = "vm";
  return h;
}
