/**
 * A new port's rules, pinned or learning, sent as vmlan's own nf_tables batch
 * (src/platform/linux/port-guard-netlink.ts) against the real kernel, in namespaces of its own: the
 * kernel ends up holding what portScript's text gives through nft, byte for byte (each set's and
 * rule's attributes as the kernel dumps them, but their handles), so every listing, CHECK, learned
 * MAC and removal reads them as before, for each shape of port; and the batch is one transaction:
 * when part of the table is missing nothing of it stays, and guardPort then repairs the table as
 * before. What the rules let through and drop is anti-spoofing.test.ts's and guard-layout.test.ts's.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";

let text: Netns;
let batch: Netns;
beforeAll(() => {
  text = createNetns();
  batch = createNetns();
});
afterAll(() => {
  text?.delete();
  batch?.delete();
});

const lease = (mac: string, ipv4: string, ipv6: string[], statics?: string[]) => ({ mac, ipv4, ipv6, ...(statics ? { static: statics } : {}) });
/**
 * Every shape a port's rules take: pinned (a value) or learning (a set of its own: a helper's or a
 * switch client's port), with IPv6 addresses or none, static space (ranges and single addresses),
 * no lease yet, a lease's MAC not the port's.
 */
const PORTS = [
  { bridge: "vl-a", port: { ifindex: 7, mac: "02:00:5c:00:00:01", lease: lease("02:00:5c:00:00:01", "10.1.0.5", ["fe80::5c:1", "fd00::5c:1"], ["10.1.0.100-10.1.0.120", "10.1.0.9"]) } },
  { bridge: "vl-a", port: { ifindex: 8, mac: "02:00:5c:00:00:02", lease: lease("02:00:5c:00:00:03", "10.1.0.6", []) } },
  { bridge: "vl-a", port: { ifindex: 9, mac: "02:00:5C:00:00:04", lease: null } },
  { bridge: "vl-b.x_1", port: { ifindex: 2147483647, mac: "0a:bb:cc:dd:ee:ff", lease: lease("0a:bb:cc:dd:ee:ff", "192.168.200.254", ["fe80::8bb:ccff:fedd:eeff"]) } },
  { bridge: "vl-a", port: { ifindex: 10, mac: null, lease: lease("02:00:5c:00:00:0a", "10.1.0.10", ["fe80::5c:a", "fd00::5c:a"], ["10.1.0.100-10.1.0.120", "10.1.0.9"]) } },
  { bridge: "vl-a", port: { ifindex: 11, mac: null, lease: null } },
  { bridge: "vl-b.x_1", port: { ifindex: 12, mac: null, lease: lease("0a:bb:cc:dd:ee:0c", "192.168.200.12", []) } },
];

/** Runs `code` (TypeScript, the repo's modules at ./src) with bun inside `ns`; its last stdout line is JSON. */
function inside(ns: Netns, code: string): unknown {
  const r = ns.run([BUN, "-e", code]);
  if (r.code !== 0) throw new Error(`bun -e failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}
const IMPORTS = `import { applyScript, runNft } from "./src/platform/linux/nft.ts";
import { Netlink } from "./src/platform/linux/netlink.ts";
import { parseAttrs } from "./ffi/netlink/encode.ts";
import { portScript, tableScript } from "./src/platform/linux/port-guard-rules.ts";
import { installNewPort } from "./src/platform/linux/port-guard-netlink.ts";
import { guardPort } from "./src/platform/linux/port-guard.ts";`;
const fail = (f: string) => `(() => { try { ${f}; return "ok"; } catch (e) { return e.message; } })()`;

/** The rules of a debug listing (it prints the elements of every set the chain uses first), each without its handles. */
function rulesOf(debug: string): string {
  const rules = debug.split(/^(?=bridge vmlan )/m).filter((b) => !b.startsWith("bridge vmlan @"));
  return rules.map((b) => b.replace(/^(bridge vmlan \S+)( \d+)+$/m, "$1")).join("");
}
/** Each chain's expressions as the kernel holds them (nft --debug=netlink), without rule handles; the sets' and the map's elements sorted. */
function kernelView(ns: Netns): { chains: Record<string, string>; elements: Record<string, string[]> } {
  const chains: Record<string, string> = {};
  const elements: Record<string, string[]> = {};
  const json = JSON.parse(ns.sh(["nft", "-j", "list", "table", "bridge", "vmlan"])).nftables as Array<{ chain?: { name: string }; set?: { name: string; elem?: unknown[] }; map?: { name: string; elem?: unknown[] } }>;
  for (const i of json) {
    if (i.chain) chains[i.chain.name] = rulesOf(ns.sh(["nft", "--debug=netlink", "list", "chain", "bridge", "vmlan", i.chain.name]));
    const s = i.set ?? i.map;
    if (s) elements[s.name] = (s.elem ?? []).map((e) => JSON.stringify(e)).sort();
  }
  return { chains, elements };
}

/**
 * The table's sets and rules as the kernel dumps them (NFT_MSG_GETSET, NFT_MSG_GETRULE), each
 * attribute's bytes in hex, without what differs between two equal tables: handles, a rule's
 * position (its predecessor's handle). Any byte the batch gets wrong shows here.
 */
function rawView(ns: Netns): { sets: unknown; rules: unknown } {
  return inside(ns, `${IMPORTS}
const nl = Netlink.open(12);
const dump = (msg, drop) => nl.dump((10 << 8) | msg, [Uint8Array.of(7, 0, 0, 0)], "dump").map((m) => {
  const a = parseAttrs(m.payload.subarray(4));
  for (const d of drop) a.delete(d);
  return Object.fromEntries([...a].map(([k, v]) => [k, Buffer.from(v).toString("hex")]));
});
console.log(JSON.stringify({ sets: dump(10, [16]), rules: dump(7, [3, 6]) }));`) as { sets: unknown; rules: unknown };
}

describe("a new port's rules as vmlan's own nf_tables batch", () => {
  test("the kernel holds what portScript's text gives through nft, byte for byte, for every shape of port, and nft lists the same rules", () => {
    const setup = `applyScript(tableScript("vl-a") + tableScript("vl-b.x_1"), "table");`;
    const ports = JSON.stringify(PORTS);
    inside(text, `${IMPORTS}\n${setup}\nfor (const { bridge, port } of ${ports}) applyScript(portScript(bridge, port), "port");\nconsole.log("[]");`);
    inside(batch, `${IMPORTS}\n${setup}\nfor (const { bridge, port } of ${ports}) installNewPort(bridge, port);\nconsole.log("[]");`);
    const [a, b] = [kernelView(text), kernelView(batch)];
    expect(Object.keys(b.chains).sort()).toEqual(["guard", "port_vl-a_10", "port_vl-a_11", "port_vl-a_7", "port_vl-a_8", "port_vl-a_9", "port_vl-b.x_1_12", "port_vl-b.x_1_2147483647"]);
    expect(Object.keys(b.elements).filter((s) => s.startsWith("mac_")).sort()).toEqual(["mac_vl-a_10", "mac_vl-a_11", "mac_vl-b.x_1_12"]);
    expect(b).toEqual(a);
    expect(rawView(batch)).toEqual(rawView(text));
    expect(b.elements["claimed_vl-a"]).toEqual(['"02:00:5c:00:00:01"', '"02:00:5c:00:00:02"', '"02:00:5c:00:00:04"']);
    const listed = (ns: Netns) => ns.sh(["nft", "list", "chain", "bridge", "vmlan", "port_vl-a_7"]);
    expect(listed(batch)).toBe(listed(text));
    expect(listed(batch)).toContain("ip saddr != 10.1.0.5 ip saddr != 10.1.0.100-10.1.0.120 ip saddr != 10.1.0.9 drop");
    const learning = (ns: Netns) => ns.sh(["nft", "list", "chain", "bridge", "vmlan", "port_vl-a_10"]);
    expect(learning(batch)).toBe(learning(text));
    expect(learning(batch)).toContain("add @mac_vl-a_10 { ether saddr }");
    const set = (ns: Netns) => ns.sh(["nft", "list", "set", "bridge", "vmlan", "mac_vl-a_10"]);
    expect(set(batch)).toBe(set(text));
  });

  test("installed again, a port's chain is refilled, not doubled", () => {
    for (const { bridge, port } of [PORTS[1]!, PORTS[4]!]) {
      inside(batch, `${IMPORTS}\ninstallNewPort("${bridge}", ${JSON.stringify(port)}); installNewPort("${bridge}", ${JSON.stringify(port)});\nconsole.log("[]");`);
    }
    expect(kernelView(batch)).toEqual(kernelView(text));
    expect(rawView(batch)).toEqual(rawView(text));
  });

  test("one transaction: with the network's claimed set gone nothing of a pinned or a learning port stays; guardPort then repairs the table and guards it", () => {
    inside(batch, `${IMPORTS}\napplyScript(tableScript("vl-c"), "table");\nconsole.log("[]");`); // a network no port uses yet
    batch.sh(["nft", "delete", "set", "bridge", "vmlan", "claimed_vl-c"]);
    const before = batch.sh(["nft", "list", "ruleset"]);
    for (const port of [{ ifindex: 4242, mac: "02:00:5c:00:42:42", lease: null }, { ifindex: 4243, mac: null, lease: lease("02:00:5c:00:42:43", "10.3.0.43", []) }]) {
      const r = inside(batch, `${IMPORTS}\nconsole.log(JSON.stringify(${fail(`installNewPort("vl-c", ${JSON.stringify(port)})`)}));`) as string;
      expect(r).toMatch(/ENOENT/);
      expect(batch.sh(["nft", "list", "ruleset"])).toBe(before); // no chain port_vl-c_4242 (or a set mac_vl-c_4243), no map element
    }
    batch.sh(["ip", "link", "add", "gn0", "type", "veth", "peer", "name", "gn1"]);
    const ifindex = Number(batch.sh(["cat", "/sys/class/net/gn0/ifindex"]).trim());
    inside(batch, `${IMPORTS}\nguardPort("vl-c", "gn0", { mac: "02:00:5c:00:42:42", lease: null }, { sweep: false });\nconsole.log("[]");`);
    const view = kernelView(batch);
    expect(view.elements["claimed_vl-c"]).toEqual(['"02:00:5c:00:42:42"']);
    expect(view.chains[`port_vl-c_${ifindex}`]).toContain("cmp neq reg 1 0x005c0002 0x00004242");
    expect(view.elements.ports!.some((e) => e.includes(`"port_vl-c_${ifindex}"`))).toBe(true);
  });

  test("bad values are refused before anything is sent", () => {
    const bad = (port: object) => inside(batch, `${IMPORTS}\nconsole.log(JSON.stringify(${fail(`installNewPort("vl-a", ${JSON.stringify(port)})`)}));`);
    const before = batch.sh(["nft", "list", "ruleset"]);
    expect(bad({ ifindex: 77, mac: "02:00:5c:00:00:zz", lease: null })).toBe('invalid MAC address "02:00:5c:00:00:zz"');
    expect(bad({ ifindex: 77, mac: "02:00:5c:00:00:07", lease: lease("02:00:5c:00:00:07", "10.1.0.300", []) })).toBe('invalid IP address "10.1.0.300"');
    expect(bad({ ifindex: 77, mac: "02:00:5c:00:00:07", lease: lease("02:00:5c:00:00:07", "10.1.0.7", ["10.1.0.8"]) })).toBe('invalid IPv6 address "10.1.0.8"');
    expect(bad({ ifindex: 77, mac: "02:00:5c:00:00:07", lease: lease("02:00:5c:00:00:07", "10.1.0.7", [], ["10.1.0.1-10.1.0.2-10.1.0.3"]) })).toBe('invalid IPv4 range "10.1.0.1-10.1.0.2-10.1.0.3"');
    expect(bad({ ifindex: 0, mac: "02:00:5c:00:00:07", lease: null })).toBe("invalid interface index 0");
    expect(batch.sh(["nft", "list", "ruleset"])).toBe(before);
  });
});
