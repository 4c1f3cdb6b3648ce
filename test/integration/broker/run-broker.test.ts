/**
 * `vmlan run --broker`: VMs join a network that only the broker brings up. One fake VM through a
 * helper (`helper --broker`), one with `--native --broker` (the broker's TAP fd goes straight to the
 * command); they reach each other, and the bridge goes away after the broker's idle time.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";
import { LineProc, vmlanIn } from "../helper/proc.ts";

const GUEST = join(import.meta.dir, "..", "..", "support", "dgram-guest.ts");
let ns: Netns;
const dir = mkdtempSync(join(tmpdir(), "vmlan-runbrk-"));
const env = { VMLAN_STATE_DIR: dir };
const procs: LineProc[] = [];
const vmlan = (...args: string[]) => runVmlan(args, { env, netns: ns.name });
const bridgeExists = () => ns.run(["ip", "link", "show", "vl-shared"]).code === 0;

function vm(extra: string[], guestArgs = ""): LineProc {
  const p = vmlanIn(ns.name, ["run", "--broker", "--network", "shared", ...extra, "--", "sh", "-c",
    `echo "info ip={ip}"; exec ${BUN} ${GUEST} --fd {fd} --ip {ip} --mac {mac} ${guestArgs}`], env);
  procs.push(p);
  return p;
}

beforeAll(async () => {
  ns = createNetns();
  expect((await vmlan("network", "create", "shared", "--subnet", "10.95.0.0/24")).exitCode).toBe(0);
  expect((await vmlan("system", "stop")).exitCode).toBe(0);
  const broker = vmlanIn(ns.name, ["broker", "--idle-timeout", "1"], env);
  procs.push(broker);
  await broker.waitFor(/listening on/, { stream: "err" });
});
afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
  ns?.delete();
  rmSync(dir, { recursive: true, force: true });
});

test("a helper VM and a native VM joined through the broker reach each other; the network goes when they leave", async () => {
  expect(bridgeExists()).toBe(false);
  const a = vm(["--id", "vm-a"]);
  const ipA = (await a.waitFor(/^info /)).split("=")[1]!;
  await a.waitFor(/^ready/);
  expect(bridgeExists()).toBe(true); // brought up by the broker on the first acquire
  const b = vm(["--id", "vm-b", "--native"], `--ping ${ipA}`);
  expect(await b.waitFor(/^ping /)).toBe(`ping ok ${ipA}`);
  expect(ns.run(["ping", "-c", "1", "-W", "2", ipA]).stdout).toContain("1 received");
  const status = JSON.parse((await vmlan("broker", "status", "--json")).stdout);
  expect(status.networks).toEqual([expect.objectContaining({ name: "shared", up: true, holders: [expect.anything(), expect.anything()] })]);
  a.kill("SIGTERM");
  b.kill("SIGTERM");
  await a.exited();
  await b.exited();
  for (let i = 0; i < 60 && bridgeExists(); i++) await Bun.sleep(100);
  expect(bridgeExists()).toBe(false);
}, 60_000);
