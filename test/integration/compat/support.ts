/**
 * The compiled vmlan started by the peers' names, as their users' tools start them: links made by
 * `vmlan compat install --prefix DIR`, run inside a namespace the test creates, with a state dir of
 * its own. Networks the helpers create and the services daemon they start live in that namespace
 * and state dir only; stop() stops the daemon and removes both.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan, type RunResult } from "../../support/binary.ts";
import { createNetns, type Netns } from "../../support/netns.ts";
import { LineProc } from "../helper/proc.ts";

export const UUID = "2835e074-9892-4a79-affb-7e41d2605678";

export class CompatHost {
  readonly ns: Netns = createNetns();
  readonly dir = mkdtempSync(join(tmpdir(), "vmlan-compat-"));
  readonly env = { VMLAN_STATE_DIR: join(this.dir, "state") };
  readonly bin = join(this.dir, "bin");
  readonly procs: LineProc[] = [];

  /** Lays the links (vmnet-helper, vmnet-run, ...) in DIR/bin with `vmlan compat install`. */
  async install(): Promise<this> {
    const r = await runVmlan(["compat", "install", "--prefix", this.dir], { env: this.env });
    if (r.exitCode !== 0) throw new Error(`compat install: ${r.stderr}`);
    return this;
  }

  vmlan(...args: string[]): Promise<RunResult> {
    return runVmlan(args, { env: this.env, netns: this.ns.name });
  }

  /** A peer program by name, to completion. */
  async run(program: string, args: string[], timeoutMs = 30_000): Promise<RunResult> {
    const p = this.start(program, args);
    const exitCode = await p.exited(timeoutMs);
    return { exitCode, stdout: p.out.join("\n"), stderr: p.err.join("\n") };
  }

  /** A long-running peer program by name; `fds` become its fds 3, 4, ... */
  start(program: string, args: string[], fds: number[] = []): LineProc {
    const p = new LineProc(["ip", "netns", "exec", this.ns.name, join(this.bin, program), ...args], this.env, fds);
    this.procs.push(p);
    return p;
  }

  sock(name: string): string {
    return join(this.dir, `${name}.sock`);
  }

  /** Interfaces in the namespace whose name starts with one of vmlan's prefixes (bridges vl-, TAPs vlt). */
  vmlanLinks(): string[] {
    return this.ns.ipJson<{ ifname: string }[]>(["link", "show"]).map((l) => l.ifname).filter((n) => n.startsWith("vl"));
  }

  async stop(): Promise<void> {
    for (const p of this.procs) p.kill("SIGKILL");
    await Promise.all(this.procs.map((p) => p.proc.exited));
    await this.vmlan("system", "stop"); // the services daemon a helper started
    this.ns.delete();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export type StartLine = Record<string, string | number | boolean>;
export const startLineOf = async (p: LineProc): Promise<StartLine> => JSON.parse(await p.waitFor(/^\{/, { timeoutMs: 20_000 })) as StartLine;

/** Every key vmnet-helper prints (vmnet's interface_param and, with a network, net_*). */
export const VMNET_KEYS = [
  "vmnet_mac_address", "vmnet_mtu", "vmnet_max_packet_size", "vmnet_interface_id", "vmnet_start_address", "vmnet_end_address",
  "vmnet_subnet_mask", "vmnet_read_max_packets", "vmnet_write_max_packets", "vmnet_nat66_prefix",
  "net_ipv4_subnet", "net_ipv4_mask", "net_ipv6_prefix", "net_ipv6_prefix_len",
];
