/**
 * Drives CNI plugins as a runtime does (libcni's ExecPlugin, cnitool): the CNI_* environment, the
 * config on stdin, the binary run in the "host" namespace of the test. A plugin directory of the
 * test's own holds `vmlan` (a link to the compiled binary) and links to Debian's reference plugins,
 * and is CNI_PATH, so `bridge` finds `"ipam": {"type": "vmlan"}` there as a runtime would.
 */
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { vmlanBin } from "./binary.ts";
import type { Netns } from "./netns.ts";

/** Debian's containernetworking-plugins install here. */
export const REFERENCE_PLUGINS = "/usr/lib/cni";

export class PluginDir {
  readonly path = mkdtempSync(join(tmpdir(), "vmlan-cni-bin-"));
  constructor() {
    symlinkSync(vmlanBin(), join(this.path, "vmlan"));
    for (const p of ["bridge", "host-local", "macvlan", "ipvlan", "loopback"]) {
      if (existsSync(join(REFERENCE_PLUGINS, p))) symlinkSync(join(REFERENCE_PLUGINS, p), join(this.path, p));
    }
  }
  bin(type: string): string {
    return join(this.path, type);
  }
  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

export interface CniCall {
  command: "ADD" | "DEL" | "CHECK" | "GC" | "STATUS" | "VERSION" | string;
  containerId?: string;
  /** Path of the container's namespace (CNI_NETNS). */
  netns?: string;
  ifname?: string;
  args?: string;
  /** Extra or overriding environment (e.g. to leave a variable out: set it to undefined). */
  env?: Record<string, string | undefined>;
}

export interface CniOutcome { code: number; stdout: string; stderr: string; json: Record<string, unknown> | null }

/** The environment a runtime passes: the parent's (VMLAN_* removed), plus CNI_*. */
export function cniEnv(dir: PluginDir, c: CniCall): Record<string, string> {
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("VMLAN_") && !k.startsWith("CNI_")) env[k] = v;
  Object.assign(env, {
    CNI_COMMAND: c.command, CNI_CONTAINERID: c.containerId, CNI_NETNS: c.netns, CNI_IFNAME: c.ifname, CNI_ARGS: c.args, CNI_PATH: dir.path,
  }, c.env ?? {});
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Runs plugin `type` once inside `host` with `conf` on stdin. */
export async function execPlugin(host: Netns, dir: PluginDir, type: string, conf: unknown, c: CniCall): Promise<CniOutcome> {
  const proc = Bun.spawn(["ip", "netns", "exec", host.name, dir.bin(type)], {
    env: cniEnv(dir, c), stdin: new TextEncoder().encode(typeof conf === "string" ? conf : JSON.stringify(conf)), stdout: "pipe", stderr: "pipe", timeout: 30_000,
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  let json: Record<string, unknown> | null = null;
  try {
    json = stdout.trim() ? JSON.parse(stdout) : null;
  } catch {
    json = null;
  }
  return { code, stdout, stderr, json };
}

/** Like execPlugin, but a non-zero exit throws with the plugin's error object. */
export async function mustExec(host: Netns, dir: PluginDir, type: string, conf: unknown, c: CniCall): Promise<Record<string, unknown> | null> {
  const r = await execPlugin(host, dir, type, conf, c);
  if (r.code !== 0) throw new Error(`${type} ${c.command} ${c.containerId ?? ""} failed (${r.code}): ${r.stdout.trim()} ${r.stderr.trim()}`);
  return r.json;
}

export const netnsPath = (ns: Netns) => `/run/netns/${ns.name}`;
