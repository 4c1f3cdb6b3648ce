/**
 * The DHCP server's view of IPAM for one network: each call is one store transaction over
 * ipam/dhcp.ts, with the same clock as LeaseService (tests pass their own).
 */
import { NotFoundError } from "./errors.ts";
import { toAttachment } from "./ipam/allocator.ts";
import { bind, decline, offer, releaseByMac } from "./ipam/dhcp.ts";
import { intToV4, v4ToInt } from "./ipam/subnet.ts";
import type { Attachment } from "./resources/attachment.ts";
import type { Network } from "./resources/network.ts";
import type { Store } from "./store/store.ts";

export type OfferResult = { ok: true; address: string; attachment: Attachment | null } | { ok: false; reason: string };
export type BindResult = { ok: true; attachment: Attachment } | { ok: false; reason: string };
export type DeclineResult = { kind: "held"; until: string } | { kind: "static"; attachment: Attachment; until: string } | { kind: "ignored"; reason: string };

export class DhcpLeases {
  /** Clients whose `vmlan attach` address they declined: no offer until then (ms). Bounded by the network's attachments. */
  readonly #muted = new Map<string, number>();

  constructor(readonly store: Store, readonly network: string, readonly now: () => string = () => new Date().toISOString()) {}

  #net(): Network {
    const n = this.store.getNetwork(this.network);
    if (!n) throw new NotFoundError(`no network named "${this.network}"`);
    return n;
  }

  /** The MAC's active lease, else its released claim, else null (INFORM). */
  find(mac: string): Attachment | null {
    const l = this.store.leaseWithMac(this.network, mac);
    return l ? toAttachment(this.#net(), l) : null;
  }

  offer(mac: string): OfferResult {
    const mutedUntil = this.#muted.get(mac);
    if (mutedUntil !== undefined) {
      if (Date.parse(this.now()) < mutedUntil) return { ok: false, reason: `it declined its address (another host uses it); no offer before ${new Date(mutedUntil).toISOString()}` };
      this.#muted.delete(mac);
    }
    return this.store.tx(() => {
      const net = this.#net();
      const o = offer(this.store, net, mac, Date.parse(this.now()));
      if (!o.ok) return o;
      return { ok: true, address: intToV4(o.addr), attachment: o.lease ? toAttachment(net, o.lease) : null };
    });
  }

  bind(mac: string, requested: string, hostnameHint: string | null): BindResult {
    return this.store.tx(() => {
      const net = this.#net();
      const b = bind(this.store, net, mac, v4ToInt(requested), hostnameHint, this.now());
      return b.ok ? { ok: true, attachment: toAttachment(net, b.lease) } : b;
    });
  }

  decline(mac: string, address: string): DeclineResult {
    const d = this.store.tx(() => {
      const net = this.#net();
      const r = decline(this.store, net, mac, v4ToInt(address), this.now());
      return r.kind === "static" ? { ...r, attachment: toAttachment(net, r.lease) } : r;
    });
    if (d.kind === "ignored") return d;
    if (d.kind === "static") this.#muted.set(mac, d.until);
    const until = new Date(d.until).toISOString();
    return d.kind === "static" ? { kind: "static", attachment: d.attachment, until } : { kind: "held", until };
  }

  release(mac: string, address: string): Attachment | null {
    return this.store.tx(() => {
      const net = this.#net();
      const l = releaseByMac(this.store, net, mac, v4ToInt(address), this.now());
      return l ? toAttachment(net, l) : null;
    });
  }
}
