// A platform's narrower MTU range (macOS: VZ NICs take 1500..65535) refuses `network create` before anything exists.
import { expect, test } from "bun:test";
import { NetworkService } from "../../../src/core/networks.ts";
import type { Platform } from "../../../src/platform/types.ts";
import { DARWIN_MTU_RANGE } from "../../../src/platform/darwin/common.ts";
import { memoryStore } from "../../support/memory.ts";

test("network create --mtu below the platform's range: exit 2 naming the range and why, no record, no host call", async () => {
  const calls: string[] = [];
  const host = new Proxy({ os: "darwin", mtuRange: DARWIN_MTU_RANGE } as unknown as Platform, {
    get: (t, k) => (k in t ? (t as unknown as Record<string | symbol, unknown>)[k] : async () => void calls.push(String(k))),
  });
  const store = memoryStore();
  const svc = new NetworkService(store, host);
  const err = await svc.create({ name: "small", subnet: "10.90.0.0/24", mtu: 1400 }).catch((e: Error & { exitCode?: number }) => e);
  expect(err).toMatchObject({ exitCode: 2, message: "invalid mtu 1400: expected 1500..65535 on this host (macOS: Virtualization.framework takes 1500..65535 for a VM's NIC)" });
  expect(store.getNetwork("small")).toBeNull();
  expect(calls).toEqual([]);
  await svc.create({ name: "jumbo", subnet: "10.90.1.0/24", mtu: 9000 });
  expect(store.getNetwork("jumbo")?.mtu).toBe(9000);
});
