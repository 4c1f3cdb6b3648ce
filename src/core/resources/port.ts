import * as v from "valibot";
import { InterfaceId, NetworkName } from "./names.ts";

const Port = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535));

/**
 * A host port (or range) published to an attachment's guest: stored with the attachment (network,
 * id), in effect while it is active, back when the same id attaches again. Validated on the way in
 * (core/ports/spec.ts parses what people write) and out of the store.
 */
export const PublishedPort = v.object({
  network: NetworkName,
  id: InterfaceId,
  proto: v.picklist(["tcp", "udp"]),
  /** canonical text, as core/ports/spec.ts writes it */
  hostIp: v.pipe(v.string(), v.minLength(2), v.maxLength(45)),
  hostPort: Port,
  hostEnd: Port,
  guestPort: Port,
  createdAt: v.string(),
});
export type PublishedPort = v.InferOutput<typeof PublishedPort>;
