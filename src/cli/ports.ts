/**
 * Composition for published ports: the PortService over the store and this host's platform, told
 * which pid is the services daemon (whose held sockets are ours), and the reload that makes the
 * daemon take up a change (its holds, the [::1] proxy) at once instead of at its next reconcile.
 */
import { PortService } from "../core/ports/service.ts";
import type { Store } from "../core/store/store.ts";
import { notifyServices, servicesStatus } from "../services/control.ts";
import { loadPlatform, openStore } from "./context.ts";
import { note } from "./output.ts";

export async function portService(store: Store = openStore()): Promise<PortService> {
  const platform = await loadPlatform();
  return new PortService(store, platform.ports ?? null, { daemonPid: servicesStatus().pid });
}

/** After ports changed: the daemon reloads (its holds and proxies); false when it does not run. */
export async function portsChanged(): Promise<boolean> {
  return notifyServices();
}

/**
 * After attachments changed (detach, vm stop, a run that ended): the kernel rules follow the store
 * now. Only when ports are stored at all; a failure here (no privileges, say) is a note, not the
 * command's failure: the daemon's reconcile catches up within seconds.
 */
export async function syncPortsAfter(store: Store = openStore()): Promise<void> {
  if (store.ports.list().length === 0) return;
  try {
    await (await portService(store)).sync();
  } catch (e) {
    note(`note: published ports not synced (${(e as Error).message}); the services daemon will`);
  }
  await portsChanged();
}
