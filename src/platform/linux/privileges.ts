/** Can this process manage host networking? CAP_NET_ADMIN and /dev/net/tun. */
import { existsSync, readFileSync } from "node:fs";
import { PermissionError } from "../../core/errors.ts";
import { TUN_PATH } from "./tap.ts";

/** <linux/capability.h>: CAP_NET_ADMIN is capability 12. */
export const CAP_NET_ADMIN = 12;

/** The effective capability set from /proc/self/status ("CapEff:\t000001ffffffffff"). */
export function effectiveCaps(status = readFileSync("/proc/self/status", "utf8")): bigint {
  const m = /^CapEff:\s*([0-9a-fA-F]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

export function hasCap(caps: bigint, cap: number): boolean {
  return ((caps >> BigInt(cap)) & 1n) === 1n;
}

export function checkPrivileges(): void {
  if (!hasCap(effectiveCaps(), CAP_NET_ADMIN)) {
    throw new PermissionError("vmlan needs CAP_NET_ADMIN to manage bridges and NAT: run it as root (sudo) or start `vmlan system start` as root", {
      details: { capability: "CAP_NET_ADMIN" },
    });
  }
  if (!existsSync(TUN_PATH)) {
    throw new PermissionError(`${TUN_PATH} is missing: load the tun module (modprobe tun) or pass the device into the container`, {
      details: { path: TUN_PATH },
    });
  }
}
