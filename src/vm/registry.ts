/**
 * Running VMs, one JSON file each in <state dir>/vms/<name>.json. Written by `vm run`, removed by
 * whoever sees the VM end (the foreground `vm run`, `vm stop`, or `vm list` finding a dead pid).
 * Files, not SQLite rows: a record lives exactly as long as a process, and a crash leaves a file
 * whose dead pid says it is stale.
 */
import * as v from "valibot";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { StoreError } from "../core/errors.ts";
import { Hostname } from "../core/resources/names.ts";

export const VmNicRecord = v.object({
  network: v.string(),
  bridge: v.string(),
  mac: v.string(),
  /** null on a bridged network: the guest asks the LAN's DHCP server */
  address: v.nullable(v.string()),
  prefixLength: v.nullable(v.number()),
  gateway: v.nullable(v.string()),
  ifname: v.optional(v.string()),
});

export const VmRecord = v.object({
  name: Hostname,
  /** The hypervisor's pid (what `vm stop` signals). */
  pid: v.number(),
  /** The foreground `vm run` that waits on it, if any. */
  supervisorPid: v.nullable(v.number()),
  accel: v.picklist(["kvm", "tcg", "vz"]),
  attachment: v.picklist(["native", "helper"]),
  nics: v.array(VmNicRecord),
  console: v.string(),
  /** `vmlan helper` processes (helper attachment), stopped by the foreground `vm run`. */
  helperPids: v.optional(v.array(v.number()), []),
  startedAt: v.string(),
});
export type VmRecord = v.InferOutput<typeof VmRecord>;

export class VmRegistry {
  constructor(readonly dir: string) {}

  static inStateDir(stateDir: string): VmRegistry {
    return new VmRegistry(join(stateDir, "vms"));
  }

  #file(name: string): string {
    return join(this.dir, `${name}.json`);
  }

  path(name: string, suffix: string): string {
    mkdirSync(this.dir, { recursive: true });
    return join(this.dir, `${name}${suffix}`);
  }

  get(name: string): VmRecord | null {
    const f = this.#file(name);
    if (!existsSync(f)) return null;
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(f, "utf8"));
    } catch (e) {
      throw new StoreError(`VM record ${f} is not JSON: ${(e as Error).message}`);
    }
    const r = v.safeParse(VmRecord, raw);
    if (!r.success) throw new StoreError(`VM record ${f} is invalid: ${r.issues[0].message}`);
    return r.output;
  }

  put(rec: VmRecord): void {
    mkdirSync(this.dir, { recursive: true });
    const tmp = `${this.#file(rec.name)}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(rec, null, 2));
    renameSync(tmp, this.#file(rec.name));
  }

  remove(name: string): void {
    rmSync(this.#file(name), { force: true });
    rmSync(join(this.dir, `${name}.pid`), { force: true });
  }

  names(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5)).sort();
  }
}
