/** The supervisor's reconcile loop with server doubles: what starts, stops, crashes and comes back, and what it logs. */
import { expect, test } from "bun:test";
import { Supervisor } from "../../../src/services/supervisor.ts";
import type { DhcpServerOptions } from "../../../src/services/dhcp/server.ts";
import { addNetwork, services } from "../../support/memory.ts";

function setup() {
  const { store } = services();
  addNetwork(store, "a", "10.7.1.0/24");
  addNetwork(store, "b", "10.7.2.0/24", { dhcp: false });
  const up = new Set(["vl-a", "vl-b"]);
  const lines: string[] = [];
  const events: string[] = [];
  const dhcp = new Map<string, DhcpServerOptions>();
  let now = 1_000_000;
  let dnsFails = 0;
  const sup = new Supervisor({
    store,
    bridgeUp: (b) => up.has(b),
    log: (c) => (m) => lines.push(`${c}: ${m}`),
    now: () => now,
    startDhcp: (o) => {
      events.push(`dhcp+ ${o.network}`);
      dhcp.set(o.network, o);
      return { stop: async () => { events.push(`dhcp- ${o.network}`); } };
    },
    startDns: async (o) => {
      if (dnsFails > 0) {
        dnsFails--;
        throw new Error("bind: EADDRNOTAVAIL");
      }
      events.push(`dns+ ${o.network}`);
      return { stop: () => events.push(`dns- ${o.network}`) };
    },
  });
  return { store, sup, up, lines, events, dhcp, tick: (ms: number) => { now += ms; }, failDns: (n: number) => { dnsFails = n; } };
}

test("starts DHCP and DNS per network whose bridge is up; --no-dhcp networks get DNS only", async () => {
  const t = setup();
  await t.sup.reconcile();
  expect(t.events).toEqual(["dhcp+ a", "dns+ a", "dns+ b"]);
  expect(t.sup.running()).toEqual({ a: ["dhcp", "dns"], b: ["dns"] });
  await t.sup.reconcile();
  expect(t.events.length).toBe(3); // nothing changed, nothing restarted
});

test("a bridge that goes away stops its servers; when it is back they start again", async () => {
  const t = setup();
  await t.sup.reconcile();
  t.up.delete("vl-a");
  await t.sup.reconcile();
  expect(t.events.slice(3)).toEqual(["dns- a", "dhcp- a"]);
  expect(t.lines).toContain("services[a]: network gone or down: stopped");
  t.up.add("vl-a");
  await t.sup.reconcile();
  expect(t.events.slice(5)).toEqual(["dhcp+ a", "dns+ a"]);
});

test("a crashed DHCP server is restarted after a back-off, with log lines; never silently gone", async () => {
  const t = setup();
  await t.sup.reconcile();
  t.dhcp.get("a")!.onCrash("worker died");
  expect(t.lines).toContain("dhcp[a]: server crashed: worker died; restarting in 1 s (crash 1 in a row)");
  t.tick(500);
  await t.sup.reconcile();
  expect(t.events).toEqual(["dhcp+ a", "dns+ a", "dns+ b"]); // still backing off
  t.tick(600);
  await t.sup.reconcile();
  expect(t.lines).toContain("services[a]: restarting after a crash: dhcp: worker died");
  expect(t.events.slice(3)).toEqual(["dns- a", "dhcp- a", "dhcp+ a", "dns+ a"]);
  t.dhcp.get("a")!.onCrash("again");
  expect(t.lines.at(-1)).toBe("dhcp[a]: server crashed: again; restarting in 2 s (crash 2 in a row)");
});

test("a server that cannot start is retried on every reconcile and the same failure is logged once", async () => {
  const t = setup();
  t.failDns(4); // a and b fail twice each
  await t.sup.reconcile();
  await t.sup.reconcile();
  expect(t.lines.filter((l) => l.includes("cannot start")).sort()).toEqual([
    "dns[a]: cannot start: bind: EADDRNOTAVAIL (retrying)",
    "dns[b]: cannot start: bind: EADDRNOTAVAIL (retrying)",
  ]);
  await t.sup.reconcile();
  expect(t.sup.running()).toEqual({ a: ["dhcp", "dns"], b: ["dns"] });
});

test("a removed network is stopped; stopAll stops everything", async () => {
  const t = setup();
  await t.sup.reconcile();
  t.store.tx(() => t.store.deleteNetwork("b"));
  await t.sup.reconcile();
  expect(t.sup.running()).toEqual({ a: ["dhcp", "dns"] });
  await t.sup.stopAll();
  expect(t.sup.running()).toEqual({});
  expect(t.sup.ownAddresses()).toEqual(new Set(["10.7.1.1"]));
});
