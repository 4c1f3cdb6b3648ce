/**
 * What the services daemon does for one helper (serve.ts): the helper's own composition
 * (compat/helper-run.ts's choice of network, commands/_host-port.ts's lease and guarded TAP) on the
 * daemon's store and platform, with the helper on the other end of the socket as the attachment's
 * owner. The same code as in process, so the same lease, start line and errors.
 */
import type { NetworkService } from "../../core/networks.ts";
import { NotFoundError } from "../../core/errors.ts";
import type { HelperLease, HostPort } from "../../datapath/helper.ts";
import { identityOf } from "../../process/identity.ts";
import { helperDeps } from "../commands/_host-port.ts";
import { bringUp, chooseNetwork, networkNote } from "../compat/helper-run.ts";
import { newRequest, type HelperRequest } from "../compat/helper-options.ts";
import type { HelperPortRequest } from "./wire.ts";

export interface DaemonPort {
  lease: HelperLease;
  host: HostPort;
  /** What the helper prints on its stderr as it would have in process (the network chosen, made or brought up). */
  notes: string[];
  /** The helper's --socket, removed if it died and left it. */
  socket: string | null;
  /**
   * The port's rules (and the follower of its MAC), after the reply: the helper writes no frame to
   * the TAP before it hears they are in. A failure undoes the port (as release does) and throws.
   */
  guard(): void;
  /** The hold's end: the TAP (the daemon's copy), its rules once it is gone, then the lease unless `keep`. */
  release(): void;
}

export async function openHelperPort(svc: NetworkService, req: HelperPortRequest, pid: number, log: (line: string) => void): Promise<DaemonPort> {
  const { socket: _socket, v: _v, style, ...asked } = req;
  const r: HelperRequest = { ...newRequest(), ...asked };
  const notes: string[] = [];
  const told = { info: (l: string) => (notes.push(l), log(l)), error: log, debug: () => {} };
  const { network, bringUp: up, created } = await chooseNetwork(svc, r, style);
  // As runHelperRequest says it: vmnet-helper's log has the network (vmlan helper's only with -v).
  if (style === "vmnet-helper") notes.push(networkNote(network, created));
  if (up) await bringUp(svc, network, created, told);
  const port = { isolation: r.isolation, tso: r.tso, checksumOffload: r.checksumOffload, allowSpoofing: r.allowSpoofing };
  const owner = (socket: string | null) => {
    const id = identityOf(pid);
    if (!id) throw new NotFoundError(`helper process ${pid} is gone`);
    return { ...id, socket };
  };
  const deps = await helperDeps(network.name, req.interfaceId, r.mac, port, svc, owner);
  const lease = deps.attach(req.keep ? null : { socket: req.socket });
  let host: HostPort;
  try {
    host = deps.openHostPort(lease);
  } catch (e) {
    if (!req.keep) deps.release(lease);
    throw e;
  }
  let done = false;
  const release = () => {
    if (done) return;
    done = true;
    try {
      host.close();
    } finally {
      if (!req.keep) deps.release(lease);
    }
  };
  return {
    lease, host, notes, socket: req.socket, release,
    guard: () => {
      try {
        host.beforeFirstFrame?.();
      } catch (e) {
        release();
        throw e;
      }
    },
  };
}
