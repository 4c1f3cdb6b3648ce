import * as v from "valibot";
import { InterfaceId, NetworkName } from "./names.ts";

/**
 * Who holds an attachment when a container runtime made it through the CNI plugin. `main`: vmlan
 * made the container's veth; `ipam`: another plugin (bridge, macvlan, ipvlan) did and asked vmlan
 * for the address only.
 */
export const ContainerAttachment = v.object({
  network: NetworkName,
  id: InterfaceId,
  containerId: v.pipe(v.string(), v.regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/)),
  ifname: v.pipe(v.string(), v.minLength(1), v.maxLength(15)),
  role: v.picklist(["main", "ipam"]),
  netns: v.nullable(v.string()),
  hostIfname: v.nullable(v.string()),
  createdAt: v.string(),
});
export type ContainerAttachment = v.InferOutput<typeof ContainerAttachment>;
