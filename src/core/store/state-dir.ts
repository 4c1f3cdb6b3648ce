/**
 * The state directory when the environment or the user fixes it: $VMLAN_STATE_DIR, else
 * /var/lib/vmlan for root on Linux; null otherwise (paths.ts's stateDir works it out from the home
 * directory). Without node:os and node:path, which cost about 0.6 ms to load: a helper sends its
 * request to the services daemon before it loads them (bench helper).
 */
export function fixedStateDir(env: Record<string, string | undefined> = process.env): string | null {
  if (env.VMLAN_STATE_DIR) return env.VMLAN_STATE_DIR;
  if (process.platform !== "darwin" && process.getuid?.() === 0) return "/var/lib/vmlan";
  return null;
}
