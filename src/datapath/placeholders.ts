/**
 * What `vmlan run` tells the VM command about each network: environment variables and `{name}`
 * placeholders in its arguments. Index i is the i-th --network; the unsuffixed forms mean network 0.
 *   {fd} {mac} {ip} {gateway} {prefix} {tap} {network}   and {fd1}, {mac1}, ... for later networks
 *   VMLAN_FD, VMLAN_MAC, VMLAN_IP, VMLAN_GATEWAY, VMLAN_PREFIX_LENGTH, VMLAN_TAP, VMLAN_NETWORK
 *   and VMLAN_FD_0, VMLAN_MAC_0, ... VMLAN_FD_1, ...
 */
import { UsageError } from "../core/errors.ts";
import type { HelperLease } from "./helper.ts";

export interface Attached extends HelperLease {
  /** The fd number the VM command sees. */
  fd: number;
  tap: string;
}

/** null: the network has no such value (a bridged network's address comes from the LAN's DHCP). */
const FIELDS: Record<string, (a: Attached) => string | null> = {
  fd: (a) => String(a.fd),
  mac: (a) => a.mac,
  ip: (a) => a.address,
  gateway: (a) => a.gateway,
  prefix: (a) => (a.prefixLength === null ? null : String(a.prefixLength)),
  tap: (a) => a.tap,
  network: (a) => a.network,
};
const ENV: Record<string, string> = { fd: "FD", mac: "MAC", ip: "IP", gateway: "GATEWAY", prefix: "PREFIX_LENGTH", tap: "TAP", network: "NETWORK" };

const PLACEHOLDER = /\{(fd|mac|ip|gateway|prefix|tap|network)(\d*)\}/g;

export function substitute(argv: string[], attached: Attached[]): string[] {
  return argv.map((arg) =>
    arg.replace(PLACEHOLDER, (_, field: string, idx: string) => {
      const a = attached[idx === "" ? 0 : Number(idx)];
      if (!a) throw new UsageError(`placeholder {${field}${idx}} names network ${idx}, but only ${attached.length} --network given`);
      const value = FIELDS[field]!(a);
      if (value === null) throw new UsageError(`placeholder {${field}${idx}} has no value: network "${a.network}" is bridged, and the LAN's DHCP server gives the VM its address`);
      return value;
    }),
  );
}

export function commandEnv(attached: Attached[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [i, a] of attached.entries()) {
    for (const [field, name] of Object.entries(ENV)) {
      const value = FIELDS[field]!(a);
      if (value === null) continue; // absent rather than empty: a bridged network has no vmlan address
      env[`VMLAN_${name}_${i}`] = value;
      if (i === 0) env[`VMLAN_${name}`] = value;
    }
  }
  if (attached[0]) env.VMLAN_INTERFACE_ID = attached[0].id;
  return env;
}
