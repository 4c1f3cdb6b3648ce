// Planning against a real in-memory store: what apply would do, decided from stored state alone.
import { describe, expect, test } from "bun:test";
import { services, addNetwork } from "../../../support/memory.ts";
import { parseApplyText, ApplyFileError } from "../../../../src/core/apply/file.ts";
import { planApply, type Plan } from "../../../../src/core/apply/plan.ts";
import { buildNetwork, parseRequest } from "../../../../src/core/network-config.ts";
import { DEFAULT_NETWORK } from "../../../../src/core/resources/network.ts";
import type { Store } from "../../../../src/core/store/store.ts";

const MANAGED = { "vmlan.managed-by": "apply" };
const rows = (p: Plan) => p.items.map((i) => `${i.action} ${i.kind} ${i.name}`);
const doc = (text: string) => parseApplyText(text, "t.toml");
const addDefault = (store: Store) =>
  store.tx(() => store.insertNetwork(buildNetwork(parseRequest(DEFAULT_NETWORK), DEFAULT_NETWORK.subnet, "vl-default", "now", true)));

const LAB = `[[networks]]\nname = "lab"\nsubnet = "10.1.0.0/24"\nmtu = 1400\nlabels = { team = "net" }\n`;
const att = (id: string, extra = "") => `[[networks.attachments]]\nid = "${id}"\n${extra}`;

describe("networks", () => {
  test("empty state: create, then each attachment reserve; the request carries the managed label", () => {
    const { store } = services();
    const p = planApply(doc(LAB + att("a", `ip = "10.1.0.9"\n`) + att("b")), store);
    expect(rows(p)).toEqual(["create network lab", "reserve attachment lab/a", "reserve attachment lab/b"]);
    expect(p.items[0]!.request).toEqual({ name: "lab", mode: "shared", subnet: "10.1.0.0/24", mtu: 1400, labels: { team: "net", ...MANAGED } });
    expect(p.items[1]!.reservation).toEqual({ network: "lab", id: "a", ip: "10.1.0.9" });
    expect(p.items[2]!.detail).toBe("next free address");
  });

  test("same config is unchanged; a hand-made twin is adopted as is (never pruned), not recreated for the label", () => {
    const { store } = services();
    addNetwork(store, "lab", "10.1.0.0/24", { mtu: 1400, labels: { team: "net", ...MANAGED } });
    expect(rows(planApply(doc(LAB), store))).toEqual(["unchanged network lab"]);
    const { store: s2 } = services();
    addNetwork(s2, "lab", "10.1.0.0/24", { mtu: 1400, labels: { team: "net" } });
    expect(planApply(doc(LAB), s2).items).toEqual([expect.objectContaining({ action: "unchanged", detail: "matches the file (made by hand: never pruned)" })]);
  });

  test("different config: change (recreate) when only the file's own reservations are attached", () => {
    const { store, leases } = services();
    addNetwork(store, "lab", "10.1.0.0/24", { labels: { team: "net", ...MANAGED } });
    leases.attach({ network: "lab", id: "a" });
    const p = planApply(doc(LAB + att("a")), store);
    expect(rows(p)).toEqual(["change network lab", "reserve attachment lab/a"]);
    expect(p.items[0]!.detail).toBe("mtu: 1500 -> 1400 (recreated; 1 reserved attachment(s) reserved again)");
  });

  test("different config with attachments not in the file: refused with the reason, its attachments too", () => {
    const { store, leases } = services();
    addNetwork(store, "lab", "10.1.0.0/24", { labels: { team: "net", ...MANAGED } });
    leases.attach({ network: "lab", id: "stranger" });
    const p = planApply(doc(LAB + att("a")), store);
    expect(rows(p)).toEqual(["refuse network lab", "refuse attachment lab/a"]);
    expect(p.items[0]!.detail).toBe("mtu: 1500 -> 1400; refused: 1 active attachment(s) not in the file (stranger); detach them first");
  });

  test("dhcp and dns_domain are declared like the rest: left out means the defaults", () => {
    const { store } = services();
    addNetwork(store, "d", "10.6.0.0/24", { dhcp: false, dnsDomain: "d.example", labels: MANAGED });
    const same = `[[networks]]\nname = "d"\nsubnet = "10.6.0.0/24"\ndhcp = false\ndns_domain = "d.example"\n`;
    expect(rows(planApply(doc(same), store))).toEqual(["unchanged network d"]);
    const p = planApply(doc(`[[networks]]\nname = "d"\nsubnet = "10.6.0.0/24"\n`), store);
    expect(p.items[0]).toMatchObject({ action: "change", detail: "dhcp: false -> true; dns-domain: d.example -> default (recreated)" });
    expect(planApply(doc(same.replace('"d"', '"e"').replace("10.6.", "10.7.")), store).items[0]).toMatchObject({ action: "create", request: { dhcp: false, dnsDomain: "d.example" } });
  });

  test("subnet left out of the file is not compared (it was picked automatically)", () => {
    const { store } = services();
    addNetwork(store, "auto", "192.168.65.0/24", { labels: MANAGED });
    expect(rows(planApply(doc(`[[networks]]\nname = "auto"\n`), store))).toEqual(["unchanged network auto"]);
  });
});

describe("networks not in the file", () => {
  const setup = () => {
    const s = services();
    addDefault(s.store);
    addNetwork(s.store, "hand", "10.2.0.0/24");
    addNetwork(s.store, "old", "10.3.0.0/24", { labels: MANAGED });
    addNetwork(s.store, "busy", "10.4.0.0/24", { labels: MANAGED });
    s.leases.attach({ network: "busy", id: "vm" });
    return s;
  };

  test("without --prune managed ones are listed as kept; hand-made and built-in ones are not touched", () => {
    const p = planApply(doc(LAB), setup().store);
    expect(rows(p)).toEqual(["create network lab", "keep network busy", "keep network old"]);
    expect(p.items[1]!.detail).toBe("not in file (use --prune to delete)");
  });

  test("--prune deletes managed ones first, refuses one with attachments, never hand-made or built-in", () => {
    const p = planApply(doc(LAB), setup().store, { prune: true });
    expect(rows(p)).toEqual(["refuse network busy", "delete network old", "create network lab"]);
    expect(p.items[0]!.detail).toBe("not in file, but has 1 active attachment(s); detach them first");
  });

  test("overlap with a stored network not in the file is a file error (exit 2) naming path and both subnets", () => {
    const { store } = setup();
    const bad = doc(`[[networks]]\nname = "x"\nsubnet = "10.0.0.0/14"\n[[networks]]\nname = "y"\nsubnet = "192.168.64.128/25"\n`);
    const err = (() => { try { planApply(bad, store); } catch (e) { return e as ApplyFileError; } })();
    expect(err).toBeInstanceOf(ApplyFileError);
    expect(err!.exitCode).toBe(2);
    expect(err!.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      `networks[0].subnet: subnet 10.0.0.0/14 overlaps existing network "hand" (10.2.0.0/24), which is not in the file`,
      `networks[0].subnet: subnet 10.0.0.0/14 overlaps existing network "old" (10.3.0.0/24), which is not in the file`,
      `networks[1].subnet: subnet 192.168.64.128/25 overlaps existing network "default" (192.168.64.0/24), which is not in the file`,
    ]);
  });

  test("a network being pruned frees its subnet for the file", () => {
    const { store } = setup();
    expect(rows(planApply(doc(`[[networks]]\nname = "new"\nsubnet = "10.3.0.0/24"\n`), store, { prune: true }))).toContain("create network new");
  });
});

describe("attachments on a network that stays", () => {
  const setup = () => {
    const s = services();
    addNetwork(s.store, "lab", "10.1.0.0/24", { mtu: 1400, labels: { team: "net", ...MANAGED } });
    s.leases.attach({ network: "lab", id: "a", ip: "10.1.0.10", mac: "52:54:00:00:00:0a", hostname: "alpha" });
    s.leases.attach({ network: "lab", id: "other", ip: "10.1.0.20", hostname: "other" });
    s.leases.attach({ network: "lab", id: "gone", ip: "10.1.0.30" });
    s.leases.detach("lab", "gone");
    return s;
  };

  test("unchanged when the given fields match; conflict naming both values when they differ", () => {
    const p = planApply(doc(LAB + att("a", `ip = "10.1.0.10"\nhostname = "alpha"\n`) + att("a2") ), setup().store);
    expect(p.items[1]).toMatchObject({ action: "unchanged", detail: "10.1.0.10, 52:54:00:00:00:0a, alpha" });
    const q = planApply(doc(LAB + att("a", `ip = "10.1.0.11"\nmac = "52:54:00:00:00:0b"\n`)), setup().store);
    expect(q.items[1]).toMatchObject({ action: "conflict", detail: "holds 10.1.0.10, file says 10.1.0.11; uses MAC 52:54:00:00:00:0a, file says 52:54:00:00:00:0b; detach it first" });
  });

  test("conflicts with other ids: address, MAC, hostname; a released claim is no conflict", () => {
    const p = planApply(doc(LAB + att("n1", `ip = "10.1.0.20"\n`) + att("n2", `mac = "52:54:00:00:00:0a"\n`) + att("n3", `hostname = "other"\n`) + att("n4", `ip = "10.1.0.30"\n`) + att("gone")), setup().store);
    expect(p.items.slice(1).map((i) => `${i.action}: ${i.detail}`)).toEqual([
      `conflict: address 10.1.0.20 is taken by id "other"`,
      `conflict: MAC 52:54:00:00:00:0a is used by id "a"`,
      `conflict: hostname other is used by id "other"`,
      `reserve: ip 10.1.0.30`,
      `reserve: next free address (its released lease is taken back)`,
    ]);
  });
});
