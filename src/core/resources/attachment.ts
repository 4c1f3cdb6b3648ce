import * as v from "valibot";
import { NetworkName, InterfaceId, Hostname } from "./names.ts";

export const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export const AttachmentState = v.picklist(["active", "released"]);

/**
 * An interface's lease on a network. Released leases stay in the store so the same id gets
 * the same address back (sticky), until the pool needs the address for someone else.
 */
export const Attachment = v.object({
  network: NetworkName,
  id: InterfaceId,
  mac: v.pipe(v.string(), v.regex(MAC_RE)),
  /** IPv4 address without prefix; null on bridged networks (the LAN's DHCP server assigns it) */
  address: v.nullable(v.string()),
  prefixLength: v.nullable(v.number()),
  gateway: v.nullable(v.string()),
  addressV6: v.nullable(v.string()),
  prefixLengthV6: v.nullable(v.number()),
  hostname: Hostname,
  mtu: v.number(),
  state: AttachmentState,
  createdAt: v.string(),
  updatedAt: v.string(),
  /** When a lease DHCP made active ends unless its client renews it (ISO 8601); null = until detach. */
  expiresAt: v.nullable(v.string()),
  /** The attachment's ports carry no anti-spoofing rules (`--allow-spoofing`); set where the store was asked. */
  allowSpoofing: v.optional(v.boolean()),
});
export type Attachment = v.InferOutput<typeof Attachment>;

/**
 * The process that holds an attachment for its life (a helper, `run --native`, `vm run`, a detached
 * VM's QEMU): pid + start time (src/process/identity.ts), and the socket it serves, if any.
 */
export const Owner = v.object({
  pid: v.pipe(v.number(), v.integer(), v.minValue(1)),
  start: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  socket: v.optional(v.nullable(v.string())),
});
export type Owner = v.InferOutput<typeof Owner>;

export const AttachRequest = v.object({
  network: NetworkName,
  id: InterfaceId,
  hostname: v.optional(Hostname),
  ip: v.optional(v.string()),
  mac: v.optional(v.string()),
  /** Claims the attachment for this process: refused while another live process holds it. */
  owner: v.optional(Owner),
  /** Sets the attachment's opt-out of the ports' anti-spoofing rules; absent: keep what is stored. */
  allowSpoofing: v.optional(v.boolean()),
});
export type AttachRequest = v.InferInput<typeof AttachRequest>;
