/**
 * The services daemon's JIT warm-up for CNI calls (cni/serve.ts). An ADD runs most of its code once
 * (the config's checks, names, the lease's result, the port's rules, the netlink requests), so a
 * daemon that has served a few calls still runs it in the interpreter: ~0.3 ms of an ADD's CPU time
 * then (bench cni, issue #16). Here the parts without I/O run on made-up values after the daemon's
 * first call, in slices that let a call that comes meanwhile go first.
 */
import { attachmentIdFor, hostAliasFor, hostIfnameFor } from "../core/containers.ts";
import { portIdentity, staticSpace } from "../core/port-follow.ts";
import type { ContainerLinker } from "../platform/container.ts";
import { parseConf, requested, targetOf, wantedName } from "./config.ts";
import { checkVersion, readEnv } from "./protocol.ts";
import { encodeResult, mergeResult } from "./result.ts";

/** Enough for the JIT's first tier on code run once per ADD, well short of its last (FTL). */
const ROUNDS = 200;
/** Rounds per slice: about a millisecond of a cold daemon's CPU. */
const SLICE = 4;

function round(links: ContainerLinker | null, i: number): void {
  const env = readEnv({ CNI_COMMAND: "ADD", CNI_CONTAINERID: `warm${i}`, CNI_NETNS: "/run/netns/warm", CNI_IFNAME: "eth0", CNI_PATH: "/opt/cni/bin", CNI_ARGS: "K8S_POD_NAME=warm" });
  const conf = parseConf(`{"cniVersion":"1.0.0","name":"warm","type":"vmlan","stateDir":"/var/lib/vmlan"}`);
  const version = checkVersion(conf.cniVersion, env.command);
  const target = targetOf(conf);
  const id = attachmentIdFor({ containerId: env.containerId, ifname: env.ifname });
  hostIfnameFor(target.network, id);
  hostAliasFor(target.network, id);
  wantedName(env.args);
  requested(conf, env.args);
  portIdentity({ mac: "02:00:00:00:00:02", address: "10.0.0.2", addressV6: null }, { pinned: true, staticSpace: staticSpace({ subnet: "10.0.0.0/24", gateway: "10.0.0.1", poolStart: null, poolEnd: null }) });
  const ours = {
    ips: [{ address: "10.0.0.2/24", gateway: "10.0.0.1", interface: 1 }], routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1" }],
    interfaces: [{ name: "vlcwarm", mac: "fe:00:00:00:00:02" }, { name: env.ifname, mac: "02:00:00:00:00:02", mtu: 1500, sandbox: env.netns }],
    dns: { nameservers: ["10.0.0.1"], domain: "warm.vmlan", search: ["warm.vmlan"] },
  };
  JSON.stringify(encodeResult(mergeResult(null, ours), version));
  links?.warm?.();
}

/** `also`: more of a call's code, run each round (serve.ts's request check). */
export async function warmCni(links: ContainerLinker | null, also?: () => void): Promise<void> {
  for (let i = 0; i < ROUNDS; i++) {
    round(links, i);
    also?.();
    if (i % SLICE === SLICE - 1) await new Promise((r) => setImmediate(r));
  }
}
