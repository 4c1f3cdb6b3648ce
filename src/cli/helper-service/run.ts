/**
 * `vmlan helper` through the services daemon (client.ts): the request as the flags give it, the
 * daemon's lease and TAP, then the same helper (datapath/helper.ts) as in process, so the start line
 * is the same. null when no daemon takes it: the caller runs the in-process path. Nothing on the
 * way to the request loads node:fs, node:path or node:os (about 1.4 ms of a start here, bench helper)
 * unless the request needs them (a relative --socket, a state dir under the home directory).
 */
import { fixedStateDir } from "../../core/store/state-dir.ts";
import type { HelperRequest } from "../compat/helper-options.ts";
import type { HelperStyle } from "../compat/helper-run.ts";
import type { HelperDeps } from "../../datapath/helper.ts";
import { newInterfaceId, offloadOf } from "../port-request.ts";
import { askDaemon } from "./client.ts";
import { HELPER_WIRE_VERSION, type HelperPortRequest } from "./wire.ts";

/** The request as the flags give it (`socket`: the helper's --socket, absolute); askDaemon adds `takeBy` as it sends it. */
export function portRequestOf(r: HelperRequest, interfaceId: string, socket: string | null, style: HelperStyle = "vmlan"): Omit<HelperPortRequest, "takeBy"> {
  const opt = <K extends keyof HelperRequest>(k: K) => (r[k] !== undefined ? { [k]: r[k] } : {});
  return {
    v: HELPER_WIRE_VERSION, interfaceId, keep: r.keep, isolation: r.isolation, tso: r.tso, checksumOffload: r.checksumOffload,
    socket, style,
    ...opt("network"), ...opt("operationMode"), ...opt("sharedInterface"), ...opt("startAddress"), ...opt("endAddress"),
    ...opt("subnetMask"), ...opt("mac"), ...opt("allowSpoofing"),
  };
}

/** The daemon declined the request after all (or did not answer): runHelper has undone its start, and the caller runs in process. */
class NotServed extends Error {}

/** `style`: whose command line this is (vmnet-helper's: its log format, its choice of network). */
export async function runViaDaemon(r: HelperRequest, style: HelperStyle = "vmlan"): Promise<number | null> {
  const id = r.interfaceId ?? newInterfaceId();
  const socket = r.socket === undefined ? null : (await import("node:path")).resolve(r.socket);
  const dir = fixedStateDir() ?? (await import("../../core/store/paths.ts")).stateDir();
  const asked = askDaemon(dir, portRequestOf(r, id, socket, style));
  if (!asked) return null;
  // Loaded while the daemon works on the request (attach, TAP, rules: most of the start's wait), not after its reply.
  const [{ runHelper }, { compatLog, vmlanLog }] = await Promise.all([import("../../datapath/helper.ts"), import("../compat/log.ts")]);
  const log = style === "vmnet-helper" ? compatLog("main", r.verbose) : vmlanLog(r.verbose);
  // Only the attach waits for the reply: the helper's own start before it (signal handlers, the VM's
  // socket checked or bound) runs while the daemon still works (bench helper: ~0.3 ms of the ready line).
  let served: HelperDeps | null | undefined;
  const reply = (): HelperDeps => {
    if (served === undefined) served = asked.deps(log);
    if (served === null) throw new NotServed();
    return served;
  };
  const deps: HelperDeps = { attach: (claim) => reply().attach(claim), release: (lease) => reply().release(lease), openHostPort: (lease) => reply().openHostPort(lease) };
  Bun.unsafe.setJITPolicy(1000); // as the in-process path does, for the start (the forwarding sets it back)
  const offload = offloadOf(r);
  try {
    return await runHelper({ fd: r.fd, socket: r.socket, statsInterval: r.statsInterval, keep: r.keep, isolation: r.isolation, offload, log }, deps);
  } catch (e) {
    if (e instanceof NotServed) return null;
    throw e;
  }
}
