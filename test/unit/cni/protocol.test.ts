/** The pure protocol layer: versions, environment, results per version, config errors. */
import { expect, test } from "bun:test";
import { parseConf, requested, targetOf } from "../../../src/cni/config.ts";
import { checkVersion, CniError, compareVersions, parseArgs, readEnv } from "../../../src/cni/protocol.ts";
import { decodeResult, encodeResult, mergeResult } from "../../../src/cni/result.ts";

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as CniError).code;
  }
  return 0;
};

test("versions compare numerically and gate CHECK, GC and STATUS", () => {
  expect(compareVersions("0.10.0", "0.4.0")).toBeGreaterThan(0);
  expect(checkVersion("0.4.0", "CHECK")).toBe("0.4.0");
  expect(codeOf(() => checkVersion("0.3.1", "CHECK"))).toBe(1);
  expect(codeOf(() => checkVersion("1.0.0", "GC"))).toBe(1);
  expect(codeOf(() => checkVersion("1.0.0", "STATUS"))).toBe(1);
  expect(codeOf(() => checkVersion(undefined, "ADD"))).toBe(1);
  expect(codeOf(() => checkVersion("one", "ADD"))).toBe(6);
});

test("the environment: required variables per command, validated names, CNI_ARGS pairs", () => {
  expect(readEnv({ CNI_COMMAND: "DEL", CNI_CONTAINERID: "c1", CNI_IFNAME: "eth0" }).netns).toBe("");
  expect(codeOf(() => readEnv({ CNI_COMMAND: "ADD", CNI_CONTAINERID: "c1", CNI_IFNAME: "eth0" }))).toBe(4);
  expect(codeOf(() => readEnv({ CNI_COMMAND: "ADD", CNI_CONTAINERID: "-c", CNI_NETNS: "/x", CNI_IFNAME: "eth0" }))).toBe(4);
  expect(codeOf(() => readEnv({ CNI_COMMAND: "ADD", CNI_CONTAINERID: "c", CNI_NETNS: "/x", CNI_IFNAME: "a:b" }))).toBe(4);
  expect(() => readEnv({ CNI_COMMAND: "ADD\n" })).toThrow("unknown CNI_COMMAND: ADD\\x0a");
  expect([...parseArgs("IgnoreUnknown=1;K8S_POD_NAME=web;;")]).toEqual([["IgnoreUnknown", "1"], ["K8S_POD_NAME", "web"]]);
  expect(codeOf(() => parseArgs("novalue"))).toBe(4);
});

test("results: `version` on IPs before 1.0.0, interface MTU from 1.1.0, prevResult passed through", () => {
  const r = { interfaces: [{ name: "eth0", mac: "02:00:00:00:00:01", mtu: 1500, sandbox: "/run/netns/x" }], ips: [{ address: "10.0.0.2/24", gateway: "10.0.0.1", interface: 0 }, { address: "fd00::2/64", interface: 0 }] };
  expect((encodeResult(r, "0.3.1").ips as { version: string }[]).map((i) => i.version)).toEqual(["4", "6"]);
  expect((encodeResult(r, "1.0.0").ips as object[])[0]).toEqual({ address: "10.0.0.2/24", gateway: "10.0.0.1", interface: 0 });
  expect((encodeResult(r, "1.0.0").interfaces as object[])[0]).toEqual({ name: "eth0", mac: "02:00:00:00:00:01", sandbox: "/run/netns/x" });
  expect((encodeResult(r, "1.1.0").interfaces as { mtu: number }[])[0]!.mtu).toBe(1500);
  const prev = decodeResult(encodeResult(r, "0.4.0"));
  const merged = mergeResult(prev, { interfaces: [{ name: "vlc1" }], ips: [{ address: "10.0.1.2/24", interface: 0 }] });
  expect(merged.interfaces!.map((i) => i.name)).toEqual(["eth0", "vlc1"]);
  expect(merged.ips.at(-1)).toEqual({ address: "10.0.1.2/24", interface: 1 });
});

test("configs: errors name the key and value; vmlan's keys count only where vmlan is the type", () => {
  expect(codeOf(() => parseConf("[]"))).toBe(6);
  expect(() => parseConf(JSON.stringify({ name: "n", type: "vmlan", mode: "wide" }))).toThrow('invalid network config: mode "wide"');
  expect(() => parseConf(JSON.stringify({ name: "n", type: "vmlan", stateDir: "rel" }))).toThrow("must be an absolute path");
  // macvlan's own "mode" is not vmlan's
  const macvlan = parseConf(JSON.stringify({ name: "n", type: "macvlan", mode: "bridge", ipam: { type: "vmlan", network: "lab" } }));
  expect(targetOf(macvlan)).toEqual({ role: "ipam", network: "lab", stateDir: undefined });
  expect(targetOf(parseConf(JSON.stringify({ name: "n", type: "vmlan" })))).toMatchObject({ role: "main", network: "n" });
  expect(codeOf(() => targetOf(parseConf(JSON.stringify({ name: "n", type: "bridge", ipam: { type: "vmlan", subnet: "10.0.0.0/24" } }))))).toBe(2);
  const conf = parseConf(JSON.stringify({ name: "n", type: "vmlan", runtimeConfig: { ips: ["fd00::5/64", "10.0.0.5/24"], mac: "02:AA:00:00:00:01" } }));
  expect(requested(conf, new Map())).toEqual({ ip: "10.0.0.5", mac: "02:aa:00:00:00:01" });
  expect(requested(parseConf(JSON.stringify({ name: "n", type: "vmlan" })), new Map([["IP", "10.0.0.9"]]))).toEqual({ ip: "10.0.0.9" });
});
