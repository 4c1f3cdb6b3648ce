// Reserved ranges as subnets are refused up front (exit 2, one line with the reason), by
// `network create` and by `apply`, and nothing is created: no record, no bridge.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { createNetns, type Netns } from "../../support/netns.ts";

let ns: Netns;
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-reserved-"));
const vmlan = (...args: string[]) => runVmlan(args, { env: { VMLAN_STATE_DIR: stateDir }, netns: ns.name });

beforeAll(() => {
  ns = createNetns();
});
afterAll(() => {
  ns.delete();
  rmSync(stateDir, { recursive: true, force: true });
});

const V4: [string, string][] = [
  ["224.0.0.0/24", "multicast"], ["239.1.0.0/16", "multicast"], ["127.0.0.0/8", "loopback"], ["169.254.0.0/16", "link-local"],
  ["0.0.0.0/8", "this network"], ["240.0.0.0/8", "future use"], ["255.255.255.0/24", "broadcast"],
];
const V6: [string, string][] = [
  ["ff02::/64", "multicast"], ["::/64", "loopback"], ["fe80::/64", "link-local"], ["fec0::/64", "site-local"], ["2002::/64", "6to4"],
];

describe("reserved subnets", () => {
  test("network create refuses each with exit 2 and one line naming the value and the reason; no bridge appears", async () => {
    let i = 0;
    for (const [cidr, why] of [...V4, ...V6]) {
      const name = `r${i++}`;
      const flag = cidr.includes(":") ? ["--subnet", "10.40.0.0/24", "--subnet-v6", cidr] : ["--subnet", cidr];
      const r = await vmlan("network", "create", name, ...flag);
      expect({ cidr, exitCode: r.exitCode }).toEqual({ cidr, exitCode: 2 });
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toStartWith(`error: invalid ${cidr.includes(":") ? "IPv6 prefix" : "subnet"} "${cidr}": it `);
      expect(lines[0]).toContain(why);
      expect(ns.run(["ip", "link", "show", `vl-${name}`]).code).not.toBe(0);
    }
    expect((await vmlan("network", "ls", "-q")).stdout.trim()).toBe("");
  });

  test("documentation ranges are allowed (a decision: unicast, never routed on the internet)", async () => {
    const r = await vmlan("network", "create", "docs", "--subnet", "192.0.2.0/24", "--subnet-v6", "2001:db8:1::/64", "--mode", "host");
    expect(r.exitCode).toBe(0);
    expect((await vmlan("network", "rm", "docs")).exitCode).toBe(0);
  });

  test("apply refuses a file with reserved subnets before changing anything, naming each entry", async () => {
    const file = join(stateDir, "reserved.toml");
    writeFileSync(file, `[[networks]]\nname = "a"\nsubnet = "224.0.0.0/24"\n\n[[networks]]\nname = "b"\nsubnet = "10.41.0.0/24"\nsubnet_v6 = "fe80::/64"\n`);
    const r = await vmlan("apply", "-f", file);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`networks[0].subnet: invalid subnet "224.0.0.0/24": it overlaps 224.0.0.0/4, multicast`);
    expect(r.stderr).toContain(`networks[1].subnet_v6: invalid IPv6 prefix "fe80::/64": it overlaps fe80::/10, link-local`);
    expect((await vmlan("network", "ls", "-q")).stdout.trim()).toBe("");
  });
});
