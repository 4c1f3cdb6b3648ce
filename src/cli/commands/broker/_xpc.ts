/**
 * `vmlan broker` on macOS 26: its XPC Mach service beside the unix socket. The platform creates the
 * networks in this process (never asking a broker: it is the broker), the XPC service hands their
 * serializations out (broker/xpc-service.ts), and holds go through the one Registry the unix-socket
 * clients use. Elsewhere (Linux, macOS 15: no network API) there is nothing to serve: null.
 */
import { NotFoundError } from "../../../core/errors.ts";
import type { NetworkService } from "../../../core/networks.ts";
import type { BrokerService } from "../../../broker/service.ts";

/** What the darwin platform adds for this (src/platform/darwin/networks.ts). */
interface ServingPlatform {
  os: string;
  serveNetworks?(): boolean;
  heldRef?(name: string): number | null;
  removeNetwork(spec: ReturnType<NetworkService["spec"]>): Promise<void>;
}

export async function startXpcService(o: { service: BrokerService; networks: NetworkService; names: string[]; gid: number | null; log: (m: string) => void }): Promise<{ stop(): void; done: Promise<void> } | null> {
  const platform = o.networks.platform as unknown as ServingPlatform | null;
  if (platform?.os !== "darwin" || !platform.serveNetworks?.() || !platform.heldRef) return null;
  const heldRef = platform.heldRef.bind(platform);
  const { XpcListener } = await import("../../../ipc/xpc-listener.ts");
  const { XpcBrokerService } = await import("../../../broker/xpc-service.ts");
  const { XpcBrokerServer } = await import("../../../broker/xpc-server.ts");
  const networks = o.networks;
  // A network made here for a request is dropped again at once: the Registry's first hold brings it
  // up, so the idle teardown owns it like any other.
  const made = async (name: string) => {
    const n = networks.get(name);
    await platform.removeNetwork(networks.spec(n));
    return n.name;
  };
  const resolve = async (requested: string): Promise<string> => {
    if (networks.store.getNetwork(requested)) return requested;
    // vmnet-broker's builtin networks: `shared` is vmlan's default, `host` a host-only network of that name.
    if (requested === "shared") return made((await networks.ensureDefault()).network.name);
    if (requested === "host") return made((await networks.create({ name: "host", mode: "host", labels: { "vmlan.created-by": "broker" } })).network.name);
    throw new NotFoundError(`no network named "${requested}" (create it: vmlan network create ${requested})`);
  };
  const listener = new XpcListener();
  const svc = new XpcBrokerService(listener, o.service.registry, { resolve, ref: heldRef }, { gid: o.gid, selfUid: process.getuid?.() ?? 0 }, o.log);
  for (const name of o.names) listener.listen(name);
  const server = new XpcBrokerServer(listener, svc, o.log);
  o.log(`serving vmnet networks on the Mach service${o.names.length > 1 ? "s" : ""} ${o.names.join(", ")}`);
  return { stop: () => server.stop(), done: server.run() };
}
