/**
 * `vmlan services run`: DHCP and DNS for every stored network whose bridge is up, in one process.
 * Steps: refuse a second daemon → reconcile (bind what can be bound) → pidfile → serve until
 * SIGTERM/SIGINT, reloading on SIGHUP and every RECONCILE_MS → stop every server → remove pidfile.
 */
import { existsSync } from "node:fs";
import { libc } from "../../ffi/libc/load.ts";
import { ConflictError } from "../core/errors.ts";
import type { Store } from "../core/store/store.ts";
import { removePidfile, servicesStatus, writePidfile } from "./control.ts";
import { type OwnBinary, replaced } from "./own-binary.ts";
import { logger } from "./log.ts";
import { Supervisor } from "./supervisor.ts";
import { PortKeeper, type PortSyncer } from "./ports/keeper.ts";

/** Also the longest a crashed server or a network brought up behind our back waits to be served. */
export const RECONCILE_MS = 2_000;

/** A network is served once its bridge exists: `system start`/`network create` make it, `system stop` removes it. */
export function bridgeExists(bridge: string): boolean {
  return libc().if_nametoindex(Buffer.from(`${bridge}\0`)) !== 0;
}

export interface DaemonOptions {
  store: Store;
  stateDir: string;
  dnsPort?: number;
  dhcpPort?: number;
  /** Where a network is served when not on its stored bridge (macOS: vmnet's bridge, by its gateway address). */
  hostInterface?: (n: import("../core/resources/network.ts").Network) => string | null;
  /** Router advertisements (default on); macOS: off, vmnet advertises. */
  ra?: boolean;
  /**
   * Housekeeping at every reconcile (issue #12 item 10): release attachments whose owner is gone and
   * whatever they left; returns one line per thing done, for the log.
   */
  tend?: () => string[];
  /** Published ports: the rules and the holds of their host ports (ports/keeper.ts). */
  ports?: PortSyncer;
  /** The binary this daemon runs from: once an upgrade replaces it, the daemon stops and says "replaced" (own-binary.ts). */
  binary?: OwnBinary | null;
  /** More to serve once this daemon is the state dir's (the CNI plugin's calls, cni/serve.ts); returns its stop. */
  alsoServe?: (log: (line: string) => void) => Promise<() => void>;
}

/**
 * Serves until a signal, the store's removal, or (with `binary`) an upgrade: "replaced" then, with
 * the pidfile kept for the same pid, which the caller re-execs from the new binary.
 */
export async function runDaemon(o: DaemonOptions): Promise<"stopped" | "replaced"> {
  const log = logger("services");
  const other = servicesStatus(o.stateDir);
  if (other.running && other.pid !== process.pid) throw new ConflictError(`the services daemon already runs (pid ${other.pid})`);
  // One bad packet or query must never end the daemon: log and go on (the servers catch per message; this is the backstop).
  process.on("uncaughtException", (e) => log(`unexpected error: ${e.stack ?? e.message}`));
  process.on("unhandledRejection", (e) => log(`unexpected rejection: ${(e as Error)?.message ?? String(e)}`));

  const sup = new Supervisor({ store: o.store, bridgeUp: bridgeExists, hostInterface: o.hostInterface, ra: o.ra, dnsPort: o.dnsPort, dhcpPort: o.dhcpPort });
  // Published ports: their kernel rules and the sockets that hold their host ports (ports/keeper.ts).
  const keeper = o.ports ? new PortKeeper(o.ports, logger("ports")) : null;
  let portsBusy: Promise<void> = Promise.resolve();
  const reconcilePorts = () => {
    if (!keeper) return portsBusy;
    portsBusy = portsBusy.then(() => keeper.reconcile()).catch((e) => log(`ports: reconcile failed: ${(e as Error).message}`));
    return portsBusy;
  };
  const reconcile = async () => {
    await sup.reconcile();
    await reconcilePorts();
  };
  // Before the pidfile exists: `network create` sends SIGHUP only to a daemon with a pidfile, and an unhandled SIGHUP kills.
  process.on("SIGHUP", () => {
    log("SIGHUP: reloading");
    void reconcile();
  });
  const tend = () => {
    try {
      for (const line of o.tend?.() ?? []) log(line);
    } catch (e) {
      log(`housekeeping failed: ${(e as Error).message}`);
    }
  };
  tend();
  await reconcile();
  writePidfile(o.stateDir);
  let stopAlso: (() => void) | undefined;
  try {
    stopAlso = await o.alsoServe?.(log);
  } catch (e) {
    log(`${(e as Error).message}`); // DHCP and DNS go on without it
  }
  log(`running as pid ${process.pid}: ${JSON.stringify(sup.running())}`);
  let timer: ReturnType<typeof setInterval> | undefined;
  const REPLACED = "replaced";
  const signal = await new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
    // The store is the source of truth: when its file is gone (state dir removed), there is nothing left to serve.
    timer = setInterval(() => {
      if (!existsSync(o.store.path)) return resolve(`store ${o.store.path} removed`);
      if (o.binary && replaced(o.binary)) return resolve(REPLACED);
      tend();
      void reconcile();
    }, RECONCILE_MS);
  });
  clearInterval(timer!);
  log(signal === REPLACED ? `${o.binary!.path} was replaced (an upgrade): stopping, to start again from the new binary` : `${signal}: stopping`);
  stopAlso?.();
  await sup.stopAll();
  await portsBusy;
  keeper?.stop(); // the holds go; the kernel rules stay (the ports keep working without the daemon)
  log("stopped");
  if (signal === REPLACED) return "replaced"; // the same pid goes on serving: the pidfile stays
  removePidfile(o.stateDir);
  return "stopped";
}
