import { homedir } from "node:os";
import { join } from "node:path";

/**
 * Where vmlan keeps its state: $VMLAN_STATE_DIR, else /var/lib/vmlan for root on Linux,
 * ~/Library/Application Support/vmlan on macOS, else the XDG state directory.
 */
export function stateDir(env: Record<string, string | undefined> = process.env): string {
  if (env.VMLAN_STATE_DIR) return env.VMLAN_STATE_DIR;
  if (process.platform === "darwin") return join(homedir(), "Library", "Application Support", "vmlan");
  if (process.getuid?.() === 0) return "/var/lib/vmlan";
  return join(env.XDG_STATE_HOME || join(homedir(), ".local", "state"), "vmlan");
}

export const STORE_FILE = "vmlan.db";
export const storePath = (dir = stateDir()): string => join(dir, STORE_FILE);
