/**
 * The broker's XPC Mach service seen from JS (shims/vmnet-xpc-server.c does all of XPC): listen on
 * service names, take connection and request events as plain data when the event fd is readable, and
 * answer a request with a network's serialization (the shim copies it from the vmnet_network_ref) or
 * with one of vmnet-broker's error codes. Events come from the shim, which escapes what a peer sent;
 * they are still validated here like any input.
 */
import type { Pointer } from "bun:ffi";
import * as v from "valibot";
import { vmnetXpc } from "../../ffi/vmnet/xpc.ts";
import { HostError } from "../core/errors.ts";

const Plain = v.union([v.string(), v.number(), v.boolean()]);
export const XpcEvent = v.variant("event", [
  v.object({ event: v.literal("connect"), conn: v.number(), service: v.string(), pid: v.number(), uid: v.number(), gid: v.number(), groups: v.array(v.number()) }),
  v.object({ event: v.literal("request"), conn: v.number(), msg: v.number(), request: v.record(v.string(), Plain), invalid: v.boolean() }),
  v.object({ event: v.literal("disconnect"), conn: v.number() }),
  v.object({ event: v.literal("listener-error"), service: v.string(), description: v.string() }),
]);
export type XpcEvent = v.InferOutput<typeof XpcEvent>;

const cstr = (s: string) => Buffer.from(`${s}\0`);
const EVENT_CAP = 4096;

export class XpcListener {
  readonly #buf = new Uint8Array(EVENT_CAP);

  /** Starts listening on `service`; errors (e.g. launchd does not advertise it) arrive as events. */
  listen(service: string): void {
    if (vmnetXpc().vmlan_xpc_listen(cstr(service)) !== 0) throw new HostError(`cannot listen on the Mach service "${service}"`);
  }

  /** Readable (POLLIN) while events wait. */
  get eventFd(): number {
    return vmnetXpc().vmlan_xpc_events();
  }

  /** The next event, or null. An event the shim made but this side cannot read is skipped with an error. */
  next(): XpcEvent | null {
    const n = vmnetXpc().vmlan_xpc_next(this.#buf, this.#buf.length);
    if (n === 0) return null;
    if (n < 0) throw new HostError(`an XPC event of ${-n} bytes does not fit ${EVENT_CAP}`);
    const r = v.safeParse(XpcEvent, JSON.parse(new TextDecoder().decode(this.#buf.subarray(0, n))));
    if (!r.success) throw new HostError(`unexpected XPC event: ${r.issues[0].message}`);
    return r.output;
  }

  /** Answers with the serialization of `networkRef`; false when the peer is gone or vmnet refused (the status). */
  replyNetwork(msg: number, networkRef: number): { ok: boolean; vmnetStatus: number } {
    const st = new Uint32Array(1);
    const ok = vmnetXpc().vmlan_xpc_reply_network(msg, networkRef as Pointer, st) === 0;
    return { ok, vmnetStatus: st[0]! };
  }

  /** Answers with vmnet-broker's error `code`; `message` travels as vmlan_message. */
  replyError(msg: number, code: number, message: string): boolean {
    return vmnetXpc().vmlan_xpc_reply_error(msg, code, cstr(message)) === 0;
  }

  /** Ends a peer's connection (its disconnect event follows). */
  close(conn: number): void {
    vmnetXpc().vmlan_xpc_close(conn);
  }
}
