import { ConflictError, UsageError } from "../errors.ts";
import { MAC_RE } from "../resources/attachment.ts";

/**
 * A stable MAC for (network, id): the first 6 bytes of sha256, with the locally administered
 * bit set and the multicast bit cleared. Same inputs, same MAC, on every host and after restarts.
 * Bun's hasher, not node:crypto: the same digest without loading Node's stream stack (a CNI ADD
 * is a short process and pays for every module it loads).
 */
export function macFor(network: string, id: string): string {
  Bun.SHA256.hash(`vmlan-mac\0${network}\0${id}`, DIGEST);
  const h = DIGEST;
  const x = (HEX ??= Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0")));
  return `${x[(h[0]! | 0x02) & 0xfe]}:${x[h[1]!]}:${x[h[2]!]}:${x[h[3]!]}:${x[h[4]!]}:${x[h[5]!]}`;
}

/** Bun.SHA256 writes the digest here (the same sha256, without a new buffer per attach). */
const DIGEST = new Uint8Array(32);

/** Two lowercase hex digits per byte value (every attach formats a MAC), made on first use: not every process that loads this makes one. */
let HEX: string[] | null = null;

/** Validates and normalises a user-given MAC (lowercase, colon-separated, unicast, not zero). */
export function parseMac(input: string): string {
  const mac = input.trim().toLowerCase().replaceAll("-", ":");
  if (!MAC_RE.test(mac)) throw new UsageError(`invalid MAC address "${input}": expected six hex pairs like 52:54:00:12:34:56`);
  const first = parseInt(mac.slice(0, 2), 16);
  if (first & 1) throw new UsageError(`invalid MAC address "${input}": it is a multicast address; the first byte must be even`);
  if (mac === "00:00:00:00:00:00") throw new UsageError(`invalid MAC address "${input}": all zeros`);
  return mac;
}

export function macBytes(mac: string): number[] {
  return mac.split(":").map((x) => parseInt(x, 16));
}

/** The refusal of a MAC that another active attachment of the network has (a guest never takes a neighbour's). */
export function macTaken(mac: string, holder: { network: string; id: string }): ConflictError {
  return new ConflictError(`MAC ${mac} is already used by id "${holder.id}" on "${holder.network}"`);
}
