/** Where brokers listen by default; no native code here, so the CLI can name the path cheaply. */
import { join } from "node:path";
import { stateDir } from "../core/store/paths.ts";

export const BROKER_SOCKET = "broker.sock";
/** Where the system broker listens: outside the state dir, which is private (0700), like /run/docker.sock. */
export const SYSTEM_BROKER_SOCKET = process.platform === "darwin" ? "/var/run/vmlan/broker.sock" : "/run/vmlan/broker.sock";

/**
 * $VMLAN_BROKER_SOCKET; else, with $VMLAN_STATE_DIR, a broker of that state dir's own
 * (`<state dir>/broker.sock`: private like the dir); else the system broker's socket, which root
 * and the members of its group share.
 */
export function defaultBrokerSocket(env: Record<string, string | undefined> = process.env): string {
  if (env.VMLAN_BROKER_SOCKET) return env.VMLAN_BROKER_SOCKET;
  if (env.VMLAN_STATE_DIR) return join(stateDir(env), BROKER_SOCKET);
  return SYSTEM_BROKER_SOCKET;
}

