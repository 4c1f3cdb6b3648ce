/**
 * `vmlan helper --enable-tso --enable-checksum-offload` on the darwin platform, from source against
 * the vmnet double (as helper.test.ts): vmnet is asked for both keys, its max packet size (65550 with
 * TSO) reaches the start line, the --socket is bound with vmnet-helper's offload receive buffer
 * (8 MiB), and a guest behind it is reachable. Without the flags: 1514 and the 4 MiB buffer.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildVmnet, type VmnetBuild } from "../../doubles/build.ts";
import { runVmlan } from "../../support/binary.ts";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";
import { LineProc } from "../helper/proc.ts";

const ROOT = join(import.meta.dir, "..", "..", "..");
const MAIN = join(ROOT, "src", "main.ts");
const GUEST = join(ROOT, "test", "support", "dgram-guest.ts");
const linux = process.platform === "linux";

let ns: Netns;
let build: VmnetBuild;
const dir = mkdtempSync(join(tmpdir(), "vmlan-doffload-"));
const env = { VMLAN_STATE_DIR: join(dir, "state") };
const procs: LineProc[] = [];
type Line = Record<string, string | number | boolean>;

function spawn(argv: string[], e: Record<string, string>): LineProc {
  const p = new LineProc(argv, e);
  procs.push(p);
  return p;
}

/** The receive buffer of the socket bound at `path`, as the kernel reports it (twice what was set). */
function rcvbuf(path: string): number {
  const line = ns.sh(["ss", "-xam"]).split("\n").find((l) => l.includes(path)) ?? "";
  return Number(/rb(\d+)/.exec(line)?.[1] ?? 0);
}

beforeAll(async () => {
  if (!linux) return;
  build = buildVmnet();
  ns = createNetns();
  const r = await runVmlan(["network", "create", "h", "--subnet", "10.76.0.0/24", "--mode", "host", "--mtu", "1500"], { env, netns: ns.name });
  if (r.exitCode !== 0) throw new Error(`network create: ${r.stderr}`);
});
afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
  ns?.delete();
  rmSync(dir, { recursive: true, force: true });
});

const CASES = [
  { flags: ["--enable-tso", "--enable-checksum-offload"], maxPacket: 65550, tso: true, csum: true, rcvbuf: 8 << 20 },
  { flags: [], maxPacket: 1514, tso: false, csum: false, rcvbuf: 4 << 20 },
];

describe.skipIf(!linux)("vmlan helper on darwin (vmnet double) with offload", () => {
  test.each(CASES)("flags $flags: vmnet_max_packet_size $maxPacket, receive buffer $rcvbuf, a guest is reachable", async (c) => {
    const sock = join(dir, `h${c.tso}.sock`);
    const denv = { ...env, ...build.env, VMLAN_PLATFORM: "darwin-double", VMLAN_DARWIN_VERSION: "26", VMLAN_DOUBLE_BRIDGE: "vl-h", VMLAN_TEST_NETNS: ns.name };
    const h = spawn(["ip", "netns", "exec", ns.name, BUN, MAIN, "helper", "--socket", sock, "--network", "h", "--id", `off-${c.tso}`, ...c.flags], denv);
    const line = JSON.parse(await h.waitFor(/^\{/, { timeoutMs: 20_000 })) as Line;
    expect(line).toMatchObject({ vmnet_max_packet_size: c.maxPacket, vmlan_tso: c.tso, vmlan_checksum_offload: c.csum, vmlan_host_port: "vmnet" });
    expect(rcvbuf(sock) / 2).toBe(c.rcvbuf);
    const g = spawn([BUN, GUEST, "--socket", sock, "--ip", String(line.vmlan_address), "--mac", String(line.vmlan_mac)], {});
    await g.waitFor(/^ready/);
    const r = ns.run(["ping", "-c", "2", "-i", "0.2", "-W", "1", String(line.vmlan_address)]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    h.kill("SIGTERM");
    expect(await h.exited()).toBe(0);
    expect(h.err.join("\n")).not.toContain("VIOLATION");
    g.kill();
  }, 60_000);
});
