/**
 * `vmlan helper --enable-tso` with a real TCP stream each way: the "VM" is a namespace whose interface
 * is a vnet-header TAP joined to the helper's VM socket by bench/c/vnet-vm.c, as krunkit does with
 * offloading=on (64 KiB segments with partial checksums out, an all-zero virtio-net header in, so the
 * VM's kernel checks every checksum it gets). Checked: every byte arrives unchanged (SHA-256 on both
 * ends), frames larger than the MTU cross the helper both ways, no checksum error in either
 * namespace's /proc/net/snmp, nothing counted malformed; and fragments (a large ping) pass.
 * Without the flags the helper's start line stays as before (helper.test.ts).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";
import { vmSocketpair } from "../../../src/datapath/vm-socket.ts";
import { libc } from "../../../ffi/libc/load.ts";
import { LineProc, vmlanIn } from "./proc.ts";

const REPO = join(import.meta.dir, "..", "..", "..");
const STREAM = join(REPO, "test", "support", "tcp-stream.ts");
let host: Netns;
let vm: Netns;
const dir = mkdtempSync(join(tmpdir(), "vmlan-offload-"));
const env = { VMLAN_STATE_DIR: join(dir, "state") };
const procs: LineProc[] = [];
const VNET_VM = join(dir, "vnet-vm");

beforeAll(async () => {
  const cc = Bun.spawnSync(["gcc", "-O2", "-pthread", "-o", VNET_VM, join(REPO, "bench", "c", "vnet-vm.c")], { stderr: "pipe" });
  if (cc.exitCode !== 0) throw new Error(`gcc vnet-vm.c: ${cc.stderr}`);
  host = createNetns();
  vm = createNetns();
  const r = await runVmlan(["network", "create", "h", "--subnet", "10.74.0.0/24", "--mode", "host", "--mtu", "1500"], { env, netns: host.name });
  if (r.exitCode !== 0) throw new Error(`network create: ${r.stderr}`);
});
afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
  host?.delete();
  vm?.delete();
  rmSync(dir, { recursive: true, force: true });
});

const spawnIn = (ns: Netns, argv: string[], fds: number[] = []) => {
  const p = new LineProc(["ip", "netns", "exec", ns.name, ...argv], {}, fds);
  procs.push(p);
  return p;
};

/** Sends MIB MiB from `from` to a server in `to` at `addr`; both ends' "bytes sha256" lines. */
async function stream(from: Netns, to: Netns, addr: string, port: number, mib: number): Promise<[string, string]> {
  const server = spawnIn(to, [BUN, STREAM, "serve", String(port)]);
  await server.waitFor(/^listening/);
  const client = spawnIn(from, [BUN, STREAM, "send", addr, String(port), String(mib)]);
  const sent = await client.waitFor(/^\d+ [0-9a-f]{64}$/, { timeoutMs: 30_000 });
  const got = await server.waitFor(/^\d+ [0-9a-f]{64}$/, { timeoutMs: 30_000 });
  return [sent, got];
}

/** Tcp InCsumErrors and Udp InCsumErrors of a namespace (/proc/net/snmp is per namespace). */
function csumErrors(ns: Netns): { tcp: number; udp: number } {
  const lines = ns.sh(["cat", "/proc/net/snmp"]).split("\n");
  const field = (proto: string) => {
    const [head, values] = lines.filter((l) => l.startsWith(`${proto}: `)).map((l) => l.split(/\s+/));
    return Number(values![head!.indexOf("InCsumErrors")]);
  };
  return { tcp: field("Tcp"), udp: field("Udp") };
}

const CASES = [
  { flag: "--enable-tso", vmArgs: ["--offload"], line: { vmnet_max_packet_size: 65550, vmnet_read_max_packets: 16, vmnet_write_max_packets: 16, vmlan_tso: true, vmlan_checksum_offload: true } },
  { flag: "--enable-checksum-offload", vmArgs: ["--offload", "--no-tso"], line: { vmnet_max_packet_size: 1514, vmnet_read_max_packets: 64, vmnet_write_max_packets: 64, vmlan_tso: false, vmlan_checksum_offload: true } },
];

test.each(CASES)("$flag: a TCP stream each way through a vnet-header TAP, every byte intact, no checksum errors", async (c) => {
  const tso = c.flag === "--enable-tso";
  const [vmEnd, helperEnd] = vmSocketpair(tso);
  const h = vmlanIn(host.name, ["helper", "--fd", "3", "--network", "h", "--id", c.flag.slice(9), c.flag, "--stats-interval", "1"], env, [helperEnd]);
  procs.push(h);
  const line = JSON.parse(await h.waitFor(/^\{/)) as Record<string, string | number | boolean>;
  expect(line).toMatchObject(c.line);
  expect(host.sh(["ip", "-d", "link", "show", "dev", String(line.vmlan_tap)])).toContain("vnet_hdr");
  const guest = spawnIn(vm, [VNET_VM, "--fd", "3", "--tap", "vm0", ...c.vmArgs], [vmEnd]);
  await guest.waitFor(/^ready/);
  libc().close(vmEnd);
  libc().close(helperEnd);
  const addr = String(line.vmlan_address);
  vm.sh(["ip", "link", "set", "vm0", "address", String(line.vmnet_mac_address), "mtu", "1500", "up"]);
  vm.sh(["ip", "addr", "add", `${addr}/${line.vmlan_prefix_length}`, "dev", "vm0"]);
  vm.sh(["ip", "link", "set", "lo", "up"]);
  const before = { host: csumErrors(host), vm: csumErrors(vm) };

  const [sentUp, gotUp] = await stream(vm, host, "10.74.0.1", 5201, 64);
  expect(gotUp).toBe(sentUp);
  const [sentDown, gotDown] = await stream(host, vm, addr, 5202, 64);
  expect(gotDown).toBe(sentDown);
  const big = host.run(["ping", "-c", "2", "-i", "0.2", "-W", "2", "-s", "4000", addr]); // IPv4 fragments both ways
  expect(big.code, big.stdout + big.stderr).toBe(0);

  expect({ host: csumErrors(host), vm: csumErrors(vm) }).toEqual(before);
  await Bun.sleep(1100);
  const statsText = h.err.filter((l) => l.includes("[stats]")).at(-1)!;
  const stats = JSON.parse(statsText.slice(statsText.indexOf("{")));
  expect(stats.vm.malformed).toBe(0);
  expect(stats.host.malformed).toBe(0);
  expect(stats.vm.bytes).toBeGreaterThan(64 * 2 ** 20);
  expect(stats.host.bytes).toBeGreaterThan(64 * 2 ** 20);
  // With TSO, frames larger than the MTU crossed both ways (fewer frames than 1514-byte ones need); without, none.
  for (const d of [stats.vm, stats.host]) {
    if (tso) expect(d.bytes / d.packets).toBeGreaterThan(3000);
    else expect(d.bytes / d.packets).toBeLessThanOrEqual(1514);
  }
  h.kill("SIGTERM");
  expect(await h.exited()).toBe(0);
  guest.kill();
  await guest.exited();
}, 90_000);
