import { homedir } from "node:os";
import { join } from "node:path";
import { fixedStateDir } from "./state-dir.ts";

/**
 * Where vmlan keeps its state: $VMLAN_STATE_DIR, else /var/lib/vmlan for root on Linux,
 * ~/Library/Application Support/vmlan on macOS, else the XDG state directory.
 */
export function stateDir(env: Record<string, string | undefined> = process.env): string {
  const fixed = fixedStateDir(env);
  if (fixed !== null) return fixed;
  if (process.platform === "darwin") return join(homedir(), "Library", "Application Support", "vmlan");
  return join(env.XDG_STATE_HOME || join(homedir(), ".local", "state"), "vmlan");
}

export const STORE_FILE = "vmlan.db";
export const storePath = (dir = stateDir()): string => join(dir, STORE_FILE);
