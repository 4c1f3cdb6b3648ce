/** Containers' leases over a real SQLite store: ids from (container, ifname), names, release, GC candidates, cascade. */
import { expect, test } from "bun:test";
import { attachmentIdFor, ContainerService, hostIfnameFor } from "../../../src/core/containers.ts";
import { Store } from "../../../src/core/store/store.ts";
import { INTERFACE_ID_RE } from "../../../src/core/resources/interface-id.ts";
import { buildNetwork, parseRequest } from "../../../src/core/network-config.ts";

function setup() {
  const store = new Store(":memory:");
  store.insertNetwork(buildNetwork(parseRequest({ name: "lab", subnet: "10.0.0.0/29", mode: "host" }), "10.0.0.0/29", "vl-lab", "t0"));
  return { store, svc: new ContainerService(store, () => "t1") };
}
const key = (containerId: string, ifname = "eth0") => ({ containerId, ifname });
const attach = (svc: ContainerService, id: string, name?: string) => svc.attach("lab", key(id), { role: "main", name, netns: "/run/netns/x", hostIfname: null });

test("ids fit the 128-byte limit; host ends fit IFNAMSIZ", () => {
  expect(attachmentIdFor(key("abc"))).toBe("cni:abc:eth0");
  const long = attachmentIdFor(key("a".repeat(200), "eth1"));
  expect(long.length).toBeLessThanOrEqual(128);
  expect(long).not.toBe(attachmentIdFor(key(`${"a".repeat(199)}b`, "eth1")));
  expect(hostIfnameFor("lab", "cni:abc:eth0")).toMatch(/^vlc[0-9a-f]{12}$/);
});

test("every interface name the kernel takes gives a valid id, no two the same; plain names keep their old ids", () => {
  const names = ["eth0", "x@y", "net1.2", "eth+1", "net%0", "é", "@x", "@6574682b31", "#", "\u00ff".repeat(7), "a".repeat(15), "é".repeat(7)];
  for (const cid of ["abc", "f".repeat(64), "b".repeat(200)]) {
    const ids = names.map((ifname) => attachmentIdFor(key(cid, ifname)));
    for (const id of ids) {
      expect(id).toMatch(INTERFACE_ID_RE);
      expect(id.length).toBeLessThanOrEqual(128);
    }
    expect(new Set(ids).size).toBe(names.length);
  }
  expect(attachmentIdFor(key("abc", "x@y"))).toBe("cni:abc:x@y");
  expect(attachmentIdFor(key("abc", "eth+1"))).toBe("cni:abc:@6574682b31");
  expect(attachmentIdFor(key("abc", "@x"))).toBe("cni:abc:@4078"); // never the plain "@x", which an encoded name could be
  expect(attachmentIdFor(key("b".repeat(200), "eth1")).slice(0, 94)).toBe(`cni:${"b".repeat(90)}`);
});

test("a container's lease is sticky; its DNS name comes from the runtime or the id, suffixed on a clash", () => {
  const { svc, store } = setup();
  const a = attach(svc, "c1", "web").attachment;
  expect(a.hostname).toBe("web");
  expect(attach(svc, "c2", "web").attachment.hostname).toMatch(/^web-[0-9a-f]{4}$/);
  expect(attach(svc, "0123456789abcdef").attachment.hostname).toBe("c-0123456789ab");
  svc.release("lab", key("c1"));
  expect(svc.release("lab", key("c1"))).toBeNull(); // twice is fine
  expect(svc.release("nowhere", key("c1"))).toBeNull();
  expect(attach(svc, "c1", "web").attachment.address).toBe(a.address); // same container id: same address back
  expect(store.listContainers("lab").map((c) => c.containerId).sort()).toEqual(["0123456789abcdef", "c1", "c2"]);
});

test("GC candidates: active, of the role, not in the valid list; reclaiming a lease drops its record", () => {
  const { svc, store } = setup();
  for (const id of ["c1", "c2", "c3"]) attach(svc, id);
  svc.attach("lab", key("i1"), { role: "ipam", netns: null, hostIfname: null });
  expect(svc.stale("lab", [key("c2")], "main").map((c) => c.containerId)).toEqual(["c1", "c3"]);
  expect(svc.stale("lab", [], "ipam").map((c) => c.containerId)).toEqual(["i1"]);
  svc.release("lab", key("c1"));
  expect(svc.stale("lab", [], "main").map((c) => c.containerId)).toEqual(["c2", "c3"]);
  // A /29 has 5 addresses: c2, c3, i1 active + c1 released + 1 free. Two more: the second reclaims c1's.
  attach(svc, "c4");
  attach(svc, "c5");
  expect(store.listContainers("lab").some((c) => c.containerId === "c1")).toBe(false);
});
