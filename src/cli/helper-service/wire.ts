/**
 * What `vmlan helper` and the services daemon say over `<stateDir>/helper.sock` (client.ts,
 * serve.ts): one request; `{ taken: true }` once the daemon takes it up (so a helper tells a daemon
 * that works on it from one that is hung); one reply (the TAP's fd on it as SCM_RIGHTS); after an ok
 * reply, `guarded` once the port's rules are in (the helper writes no frame to the TAP before it);
 * framed as cni/wire.ts frames them. Then the connection stays open as the hold: when it closes, the daemon
 * removes the port's rules and releases the lease unless `keep`. Types only: the helper loads no valibot.
 */
import type { HelperLease } from "../../datapath/helper.ts";
import type { OffloadMode } from "../../datapath/offload/steps.ts";

export const HELPER_SOCKET_FILE = "helper.sock";
/**
 * 2: the daemon sends `taken` before the reply. 3: the request says when the helper stops waiting
 * for `taken` (`takeBy`). 4: the request says whose command line it is (`style`: the binary started
 * as `vmnet-helper` too), the reply carries the lines the helper prints (`notes`). A daemon sends a
 * helper of another version back (`fallback`). 5: the port's rules go in after the reply (off the
 * helper's way to its start line), confirmed by `guarded`.
 */
export const HELPER_WIRE_VERSION = 5;

/**
 * A daemon takes a request up only while at least this much of the helper's wait is left: the
 * helper may hang up and attach the same id itself at `takeBy`, and the daemon's work (or its
 * release when it finds the helper gone) must not fall into that (serve.ts).
 */
export const TAKE_MARGIN_MS = 1000;

/** The helper's request as `vmlan helper`'s flags give it (helper-options.ts HelperRequest). */
export interface HelperPortRequest {
  v: typeof HELPER_WIRE_VERSION;
  interfaceId: string;
  network?: string;
  operationMode?: "shared" | "host" | "bridged";
  sharedInterface?: string;
  startAddress?: string;
  endAddress?: string;
  subnetMask?: string;
  mac?: string;
  keep: boolean;
  allowSpoofing?: boolean;
  isolation: boolean;
  tso: boolean;
  checksumOffload: boolean;
  /** The helper's --socket, absolute (the attachment's owner records it), or null with --fd. */
  socket: string | null;
  /** Whose command line: `vmlan helper`'s, or vmnet-helper's (the binary by that name), which picks and brings up its network as vmnet-helper does. */
  style: "vmlan" | "vmnet-helper";
  /** When (Date.now() ms) the helper stops waiting for `taken` and does it itself (client.ts TAKEN_MS). */
  takeBy: number;
}

export interface HelperFailure {
  message: string;
  code: string;
  exitCode: number;
  details?: Record<string, unknown>;
  lines?: string[];
}

/** Sent before the reply, when the daemon starts on the request (and only if the helper is still there to hear it). */
export type HelperPortTaken = { taken: true };

/** After an ok reply: the port's rules are in, or they could not be installed (the daemon then undoes the port and hangs up). */
export type HelperPortGuarded = { guarded: true } | { guarded: false; error: HelperFailure };

/** `fallback`: not served here (another network namespace, a replaced binary): the helper does it itself. */
export type HelperPortReply =
  | { ok: true; lease: HelperLease; port: { ifname: string; offload?: OffloadMode }; notes: string[] }
  | { ok: false; error: HelperFailure }
  | { fallback: string };
