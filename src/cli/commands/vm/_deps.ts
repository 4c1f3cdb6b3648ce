/** Composition root for the vm commands: store-backed services, the host platform and the VM backend. */
import { networkService, leaseService, loadPlatform, openStore } from "../../context.ts";
import { PortService } from "../../../core/ports/service.ts";
import { servicesStatus } from "../../../services/control.ts";
import { note } from "../../output.ts";
import { stateDir } from "../../../core/store/paths.ts";
import { VmRegistry } from "../../../vm/registry.ts";
import type { VmDeps } from "../../../vm/launch.ts";
import { ownerOf, selfOwner } from "../../owners.ts";
import { MAX_MEMORY_MB, MIN_MEMORY_MB } from "../../../vm/spec.ts";

export async function vmDeps(opts: { withHost?: boolean } = {}): Promise<VmDeps> {
  const { hostVmBackend } = await import("../../../platform/index.ts");
  // How to run this vmlan again (for `vmlan helper`, `vmlan vm _vz-host`): the compiled binary is process.execPath.
  const self = Bun.main.startsWith("/$bunfs/") ? [process.execPath] : [process.execPath, Bun.main];
  const networks = await networkService(opts.withHost ?? true);
  const platform = networks.platform ?? (await loadPlatform());
  return {
    ports: platform.ports ? new PortService(networks.store, platform.ports, { daemonPid: servicesStatus().pid }) : undefined,
    networks,
    leases: leaseService(),
    backend: await hostVmBackend(self, networks.platform),
    registry: VmRegistry.inStateDir(stateDir()),
    log: note,
    owners: { self: () => selfOwner(), of: ownerOf },
  };
}

/** --memory: MiB or a size, within what the guest and QEMU accept. */
export function memoryCheck(s: string): string | null {
  const mb = parseMemory(s);
  return mb >= MIN_MEMORY_MB && mb <= MAX_MEMORY_MB ? null : `expected MiB like 512 or a size like 1G, ${MIN_MEMORY_MB} MiB..${MAX_MEMORY_MB / 1024} GiB`;
}

/** "512", "512M", "1G" → MiB. */
export function parseMemory(s: string): number {
  const m = s.trim().match(/^(\d+)\s*([mMgG])?i?[bB]?$/);
  if (!m) return NaN;
  return Number(m[1]) * (m[2] && /g/i.test(m[2]) ? 1024 : 1);
}
