/**
 * Network namespaces for tests. Every namespace is named "vmlan-t-<random>", created with
 * `ip netns add` and deleted by the test that made it. Helpers refuse to run anything that
 * would change the root namespace: every command goes through `ip netns exec <our ns>`.
 */
import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";

export const NETNS_PREFIX = "vmlan-t-";
const REPO = new URL("../..", import.meta.url).pathname;
export const BUN = process.execPath;

export interface RunResult { code: number; stdout: string; stderr: string }

function ours(name: string): string {
  if (!name.startsWith(NETNS_PREFIX) || !/^[a-z0-9-]+$/.test(name)) throw new Error(`refusing to use namespace "${name}": not a vmlan test namespace`);
  return name;
}

export class Netns {
  readonly name: string;
  #deleted = false;
  constructor(name: string) {
    this.name = ours(name);
  }

  /** Runs argv inside this namespace and waits. */
  run(argv: string[], opts: { stdin?: string; env?: Record<string, string> } = {}): RunResult {
    if (this.#deleted) throw new Error(`namespace ${this.name} was deleted`);
    const r = Bun.spawnSync(["ip", "netns", "exec", this.name, ...argv], {
      stdin: opts.stdin === undefined ? "ignore" : Buffer.from(opts.stdin),
      stdout: "pipe", stderr: "pipe", cwd: REPO, env: { ...process.env, ...opts.env, VMLAN_TEST_NETNS: this.name },
    });
    return { code: r.exitCode ?? 1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  }

  /** Like run, but throws with stderr when the command fails. */
  sh(argv: string[]): string {
    const r = this.run(argv);
    if (r.code !== 0) throw new Error(`[${this.name}] ${argv.join(" ")} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Starts a long-running process inside this namespace (fake guests). */
  spawn(argv: string[]) {
    return Bun.spawn(["ip", "netns", "exec", this.name, ...argv], {
      stdin: "ignore", stdout: "pipe", stderr: "pipe", cwd: REPO, env: { ...process.env, VMLAN_TEST_NETNS: this.name },
    });
  }

  /** `ip -j ...` parsed. */
  ipJson<T = unknown>(args: string[]): T {
    return JSON.parse(this.sh(["ip", "-j", ...args]) || "[]") as T;
  }

  delete(): void {
    if (this.#deleted) return;
    this.#deleted = true;
    Bun.spawnSync(["ip", "netns", "del", this.name], { stdout: "ignore", stderr: "ignore" });
  }
}

/** Creates a fresh namespace with loopback up. Remember to delete() it (afterAll/afterEach). */
export function createNetns(): Netns {
  const name = `${NETNS_PREFIX}${randomBytes(4).toString("hex")}`;
  const r = Bun.spawnSync(["ip", "netns", "add", name], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`ip netns add ${name} failed: ${r.stderr.toString().trim()}`);
  const ns = new Netns(name);
  ns.sh(["ip", "link", "set", "lo", "up"]);
  return ns;
}

/**
 * Links `ns` to `upstream` with a veth pair: `nsIf` (nsAddr) in ns, `upIf` (upAddr) in upstream,
 * and a default route in `ns` via upAddr. The veth is created inside ns and its peer moved.
 */
export function linkUpstream(ns: Netns, upstream: Netns, o: { nsIf: string; upIf: string; nsAddr: string; upAddr: string; prefix: number }): void {
  ns.sh(["ip", "link", "add", o.nsIf, "type", "veth", "peer", "name", o.upIf, "netns", upstream.name]);
  ns.sh(["ip", "addr", "add", `${o.nsAddr}/${o.prefix}`, "dev", o.nsIf]);
  ns.sh(["ip", "link", "set", o.nsIf, "up"]);
  upstream.sh(["ip", "addr", "add", `${o.upAddr}/${o.prefix}`, "dev", o.upIf]);
  upstream.sh(["ip", "link", "set", o.upIf, "up"]);
  ns.sh(["ip", "route", "add", "default", "via", o.upAddr]);
}

/**
 * Throws unless the current process runs inside the test namespace named in VMLAN_TEST_NETNS:
 * scripts meant for namespaces call this first so that they can never touch the root namespace.
 */
export function assertInTestNetns(): string {
  const name = ours(process.env.VMLAN_TEST_NETNS ?? "");
  const mine = statSync("/proc/self/ns/net");
  const theirs = statSync(`/run/netns/${name}`);
  if (mine.ino !== theirs.ino || mine.dev !== theirs.dev) throw new Error(`not inside test namespace ${name}; refusing to run`);
  return name;
}
