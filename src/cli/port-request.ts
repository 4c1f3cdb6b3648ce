/**
 * What a VM's port is asked for, and the helper's defaults, without any of the composition's
 * imports: the helper's daemon path (helper-service/run.ts) loads this and not _host-port.ts.
 */

/** What a VM's port is asked for: vmnet-helper's --enable-isolation, --enable-tso, --enable-checksum-offload. */
export interface PortRequest {
  isolation?: boolean;
  /** No anti-spoofing rules on the port (stored with the attachment); absent: as stored. */
  allowSpoofing?: boolean;
  tso?: boolean;
  checksumOffload?: boolean;
}

/** vmnet-helper style interface id when the caller gives none: an uppercase UUID (Web Crypto's: node:crypto costs a helper about 4 MB of RSS). */
export function newInterfaceId(): string {
  return crypto.randomUUID().toUpperCase();
}

/** vmnet-helper's flags as a port's offload: --enable-tso needs finished checksums too, so it implies them. */
export function offloadOf(port: PortRequest): "checksum" | "tso" | undefined {
  return port.tso ? "tso" : port.checksumOffload ? "checksum" : undefined;
}
