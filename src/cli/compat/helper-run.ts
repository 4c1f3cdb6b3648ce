/**
 * Runs a checked vmnet-helper request (helper-options.ts): pick the network as vmnet-helper's options
 * mean it (core/compat/vmnet-networks.ts), bring it up when vmlan chose or made it, then the helper
 * (datapath/helper.ts) with the port options. Shared by `vmlan helper` and the binary started as
 * `vmnet-helper`; `style` picks the log format and whether a named network is brought up on demand.
 * What only some helpers need (the broker, bridged mode, vmnet's networks, the services daemon) is
 * imported when needed: a helper's start loads only its own path (bench helper).
 */
import { networkService } from "../context.ts";
import type { NetworkService } from "../../core/networks.ts";
import type { Network } from "../../core/resources/network.ts";
import type { HelperLog } from "../../datapath/helper.ts";
import { helperDeps, newInterfaceId, offloadOf } from "../commands/_host-port.ts";
import type { HelperRequest } from "./helper-options.ts";
import { compatLog, vmlanLog } from "./log.ts";

export type HelperStyle = "vmlan" | "vmnet-helper";


/**
 * The network: `vmlan helper --network NAME` of a stored network is used as it is (it must be up,
 * as before); everything else follows vmnet-helper and is brought up here, with DHCP and DNS.
 */
export async function chooseNetwork(svc: NetworkService, r: HelperRequest, style: HelperStyle): Promise<{ network: Network; bringUp: boolean; created: boolean }> {
  if (style === "vmlan" && r.network !== undefined && svc.store.getNetwork(r.network)) return { network: svc.get(r.network), bringUp: false, created: false };
  const mode = r.operationMode ?? "shared";
  const chosen = mode === "bridged"
    ? await (await import("./bridged.ts")).bridgedNetwork(svc, r.sharedInterface!)
    : await (await import("../../core/compat/vmnet-networks.ts")).vmnetNetwork(svc, {
      network: r.network, mode,
      range: r.startAddress !== undefined ? { start: r.startAddress, end: r.endAddress!, mask: r.subnetMask! } : undefined,
    });
  return { ...chosen, bringUp: true };
}

/**
 * The host side up (Linux: the bridge and its rules) and the guest services daemon serving it. On
 * macOS 26 the helper's vmnet interface holds the network, and vmlan's daemon serves DHCP and DNS on
 * vmnet's bridge (docs/macos.md); on macOS 15 vmnet's own DHCP serves its shared network.
 */
export async function bringUp(svc: NetworkService, n: Network, created: boolean, log: HelperLog): Promise<void> {
  const p = svc.platform;
  if (!p) return;
  if (p.os === "linux") {
    const spec = svc.spec(n); // a bridged network's spec carries its uplink journal
    if (!(await p.status(spec, { rules: false })).up) {
      log.info(`bringing network "${n.name}" up`);
      await p.ensureNetwork(spec);
    }
  } else if (!("serveNetworks" in p)) return;
  if (n.mode === "bridged") return; // the LAN's DHCP and DNS serve bridged guests
  const { notifyServices, startServices } = await import("../../services/control.ts");
  const s = await startServices();
  if (s.outcome === "started") log.info(`started the guest services daemon (DHCP, DNS; pid ${s.pid}, log ${s.log})`);
  else if (created) await notifyServices();
}

/** The line vmnet-helper's style logs about the network a helper uses (vmlan helper's with -v). */
export function networkNote(network: Network, created: boolean): string {
  return `network "${network.name}": ${network.mode}, ${network.subnet}, gateway ${network.gateway}${created ? " (created)" : ""}`;
}

export async function runHelperRequest(r: HelperRequest, style: HelperStyle): Promise<number> {
  Bun.unsafe.setJITPolicy(1000); // as main.ts's fast path does, for the start (the forwarding sets it back)
  const log = style === "vmnet-helper" ? compatLog("main", r.verbose) : vmlanLog(r.verbose);
  const port = { isolation: r.isolation, tso: r.tso, checksumOffload: r.checksumOffload, allowSpoofing: r.allowSpoofing };
  const id = r.interfaceId ?? newInterfaceId();
  const range = r.startAddress !== undefined ? `${r.startAddress}-${r.endAddress} mask ${r.subnetMask}` : "(unset)";
  log.debug(`starting: network ${r.network ?? "(by mode)"}, mode ${r.operationMode ?? "shared"}, interface-id ${id}, range ${range}, ` +
    `isolation ${r.isolation}, tso ${r.tso}, checksum-offload ${r.checksumOffload}`);
  let deps;
  if (r.broker) {
    const name = r.network ?? "default"; // the broker owns its networks' names; no store here to resolve aliases
    const { brokerHelperDeps } = await import("../commands/_broker-port.ts");
    deps = await brokerHelperDeps(name, id, r.mac, r.keep, r.brokerSocket, r.allowSpoofing); // no store access here: IPAM through the broker
  } else {
    const svc = await networkService(true);
    const { network, bringUp: up, created } = await chooseNetwork(svc, r, style);
    const say = style === "vmnet-helper" ? log.info : log.debug; // vmlan helper stays quiet unless -v
    say(networkNote(network, created));
    if (up) await bringUp(svc, network, created, log);
    deps = await helperDeps(network.name, id, r.mac, port, svc);
  }
  const offload = offloadOf(port);
  if (offload && r.broker) {
    // The broker opens the TAP (TUNSETIFF fixes IFF_VNET_HDR at open), without a virtio-net header.
    log.info("--enable-tso/--enable-checksum-offload are not available through the broker; frames stay within the MTU (the start line reports them off)");
  }
  const { runHelper } = await import("../../datapath/helper.ts");
  return runHelper({ fd: r.fd, socket: r.socket, statsInterval: r.statsInterval, keep: r.keep, isolation: r.isolation, offload, log }, deps);
}
