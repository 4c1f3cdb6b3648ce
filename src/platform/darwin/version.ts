/**
 * Which macOS this is, by major version: 26+ has vmnet network objects (named networks, unprivileged
 * with com.apple.security.virtualization), 15 and older only the classic interface API (root).
 *   VMLAN_DARWIN_VERSION  e.g. "26.1" or "15": overrides the detection. Tests on Linux set it to run
 *                         the darwin code paths against the vmnet double; on a Mac it is for trying
 *                         the macOS 15 fallback on a newer system.
 * On macOS: `sw_vers -productVersion`, then `sysctl -n kern.osproductversion` if that fails.
 */
import { HostError } from "../../core/errors.ts";

/** The first macOS with vmnet_network_* and VZVmnetNetworkDeviceAttachment (native-facts §A 5.6). */
export const NETWORKS_SINCE = 26;

function parse(v: string, from: string): number {
  const m = /^\s*(\d+)(?:\.\d+)*\s*$/.exec(v);
  if (!m) throw new HostError(`cannot read the macOS version from ${from}: "${v.trim()}"`);
  return Number(m[1]);
}

function ask(argv: string[]): string | null {
  try {
    const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "ignore", stdin: "ignore" });
    return r.exitCode === 0 ? r.stdout.toString() : null;
  } catch {
    return null;
  }
}

let cached: number | undefined;

/** The macOS major version (15, 26, ...). */
export function macosMajor(): number {
  const forced = process.env.VMLAN_DARWIN_VERSION;
  if (forced) return parse(forced, "VMLAN_DARWIN_VERSION");
  if (cached !== undefined) return cached;
  const sw = ask(["sw_vers", "-productVersion"]);
  if (sw) return (cached = parse(sw, "sw_vers -productVersion"));
  const sysctl = ask(["sysctl", "-n", "kern.osproductversion"]);
  if (sysctl) return (cached = parse(sysctl, "kern.osproductversion"));
  throw new HostError("cannot tell the macOS version (sw_vers and sysctl kern.osproductversion both failed); set VMLAN_DARWIN_VERSION");
}
