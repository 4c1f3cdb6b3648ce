/**
 * The broker's policy for its XPC Mach service (macOS 26), speaking vmnet-broker's protocol
 * (nirs/vmnet-broker docs/protocol.md): a request {command: "acquire", network_name} is answered with
 * the network's serialization under `network`, or `error` = 3 not allowed, 4 invalid request, 5 not
 * found, 6 create failure, 7 internal error. A client holds every network it acquired until its
 * connection closes (there is no release command), at most MAX_PEER_NETWORKS of them (vmnet-broker's
 * limit). Holds go through the broker's one Registry, shared with the unix-socket clients, so the
 * idle teardown is the same on Linux and macOS. Peers are checked as on Linux: root, the broker's own
 * user, or a member of the allowed group.
 */
import * as v from "valibot";
import { NetworkName } from "../core/resources/names.ts";
import { NotFoundError, VmlanError } from "../core/errors.ts";
import type { Registry } from "./registry.ts";
import type { XpcEvent } from "../ipc/xpc-listener.ts";

export const BROKER_ERROR = { NOT_ALLOWED: 3, INVALID_REQUEST: 4, NOT_FOUND: 5, CREATE_FAILURE: 6, INTERNAL_ERROR: 7 } as const;
/** vmnet-broker's MAX_PEER_NETWORKS. */
export const MAX_PEER_NETWORKS = 8;
/** Registry client ids of XPC peers start here (the unix socket's count from 1). */
export const XPC_CLIENT_BASE = 1_000_000_000;

export interface XpcReplies {
  replyNetwork(msg: number, networkRef: number): { ok: boolean; vmnetStatus: number };
  replyError(msg: number, code: number, message: string): boolean;
}

export interface XpcNetworks {
  /** The vmlan network a requested name means (vmnet-broker's `shared` and `host` included); may create it. */
  resolve(requested: string): Promise<string>;
  /** The vmnet_network_ref this process holds for an up network. */
  ref(network: string): number | null;
}

export interface XpcPolicy {
  /** Group allowed besides root and the broker's own user. */
  gid: number | null;
  selfUid: number;
}

interface Peer { pid: number; uid: number; service: string; allowed: boolean; networks: Set<string> }

export class XpcBrokerService {
  readonly #peers = new Map<number, Peer>();

  constructor(readonly replies: XpcReplies, readonly registry: Registry, readonly networks: XpcNetworks, readonly policy: XpcPolicy, readonly log: (m: string) => void) {}

  allowed(p: { uid: number; gid: number; groups: number[] }): boolean {
    if (p.uid === 0 || p.uid === this.policy.selfUid) return true;
    const g = this.policy.gid;
    return g !== null && (p.gid === g || p.groups.includes(g));
  }

  get peers(): number {
    return this.#peers.size;
  }

  async handle(ev: XpcEvent): Promise<void> {
    switch (ev.event) {
      case "connect": {
        const allowed = this.allowed(ev);
        this.#peers.set(ev.conn, { pid: ev.pid, uid: ev.uid, service: ev.service, allowed, networks: new Set() });
        if (!allowed) this.log(`refused XPC client pid ${ev.pid} uid ${ev.uid} on ${ev.service}: not root, the broker's user or in its group`);
        return;
      }
      case "disconnect": {
        const peer = this.#peers.get(ev.conn);
        this.#peers.delete(ev.conn);
        const dropped = this.registry.disconnect(XPC_CLIENT_BASE + ev.conn);
        if (peer && dropped.length) this.log(`XPC client pid ${peer.pid} left; released ${dropped.join(", ")}`);
        return;
      }
      case "listener-error":
        this.log(`Mach service ${ev.service}: ${ev.description} (launchd must advertise it: vmlan system install)`);
        return;
      case "request":
        return this.#request(ev);
    }
  }

  async #request(ev: Extract<XpcEvent, { event: "request" }>): Promise<void> {
    const peer = this.#peers.get(ev.conn);
    const fail = (code: number, message: string) => {
      this.replies.replyError(ev.msg, code, message);
      if (code !== BROKER_ERROR.NOT_FOUND) this.log(`XPC client pid ${peer?.pid ?? "?"}: ${message}`);
    };
    if (!peer) return void this.replies.replyError(ev.msg, BROKER_ERROR.INTERNAL_ERROR, "unknown connection");
    if (!peer.allowed) return fail(BROKER_ERROR.NOT_ALLOWED, `uid ${peer.uid} may not use this broker`);
    const { command, network_name: requested } = ev.request;
    if (ev.invalid || command !== "acquire") return fail(BROKER_ERROR.INVALID_REQUEST, `invalid request: ${ev.invalid ? "values that are not plain strings, numbers or booleans" : `command ${JSON.stringify(command)} is not "acquire"`}`);
    if (typeof requested !== "string" || !v.is(NetworkName, requested)) return fail(BROKER_ERROR.INVALID_REQUEST, `invalid request: network_name ${JSON.stringify(requested)} is not a network name`);
    let name: string;
    try {
      name = await this.networks.resolve(requested);
    } catch (e) {
      return fail(e instanceof NotFoundError ? BROKER_ERROR.NOT_FOUND : BROKER_ERROR.CREATE_FAILURE, (e as Error).message);
    }
    if (!peer.networks.has(name)) {
      if (peer.networks.size >= MAX_PEER_NETWORKS) return fail(BROKER_ERROR.INTERNAL_ERROR, `a client holds at most ${MAX_PEER_NETWORKS} networks`);
      try {
        await this.registry.acquire(name, XPC_CLIENT_BASE + ev.conn);
      } catch (e) {
        return fail(e instanceof VmlanError ? BROKER_ERROR.CREATE_FAILURE : BROKER_ERROR.INTERNAL_ERROR, `network ${name}: ${(e as Error).message}`);
      }
      peer.networks.add(name);
      this.log(`XPC client pid ${peer.pid} (${peer.service}) acquired ${name}${name === requested ? "" : ` as "${requested}"`}`);
    }
    const ref = this.networks.ref(name);
    if (ref === null) return fail(BROKER_ERROR.INTERNAL_ERROR, `network ${name} is up but this broker holds no vmnet network for it`);
    const r = this.replies.replyNetwork(ev.msg, ref);
    if (!r.ok && r.vmnetStatus !== 1000) this.log(`serializing ${name} failed (vmnet status ${r.vmnetStatus})`);
  }
}
