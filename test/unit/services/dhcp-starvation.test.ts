/**
 * Pool starvation (issue #12 item 1): DHCP from MACs vmlan does not know must never take the pool
 * from `vmlan attach` and known ids. Offers are held briefly unless REQUESTed, DHCP-made leases end
 * at their lease time unless renewed, and all of it is enforced where allocation happens (a store
 * and a clock, no daemon).
 */
import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store } from "../../../src/core/store/store.ts";
import { MIGRATIONS } from "../../../src/core/store/migrations.ts";
import { decide, idForMac, storeLeaseBook, LEASE_SECONDS, OFFER_HOLD_SECONDS } from "../../../src/services/dhcp/policy.ts";
import { MessageType, Opt, optIp, parseDhcp } from "../../../src/services/dhcp/wire.ts";
import { LeaseService } from "../../../src/core/leases.ts";
import { addNetwork, memoryStore } from "../../support/memory.ts";
import { buildRequest, type RequestSpec } from "./dhcp-packets.ts";

function setup(subnet = "10.7.0.0/24") {
  const clock = { ms: Date.parse("2030-01-01T00:00:00Z") };
  const store = memoryStore();
  const leases = new LeaseService(store, () => new Date(clock.ms).toISOString());
  addNetwork(store, "lab", subnet);
  const book = storeLeaseBook(store, leases, "lab");
  const ask = (r: RequestSpec) => decide(store.getNetwork("lab")!, parseDhcp(buildRequest(r)), book);
  const dora = (mac: string) => {
    const offer = ask({ type: MessageType.DISCOVER, mac });
    if (!offer.reply) return null;
    const ack = ask({ type: MessageType.REQUEST, mac, options: [[Opt.SERVER_ID, optIp("10.7.0.1")], [Opt.REQUESTED_IP, optIp(offer.reply.yiaddr)]] });
    return ack.reply?.type === MessageType.ACK ? ack.reply.yiaddr : null;
  };
  const advance = (seconds: number) => { clock.ms += seconds * 1000; };
  return { store, leases, ask, dora, advance };
}

const strangerMac = (i: number) => `02:ee:${((i >> 16) & 0xff).toString(16).padStart(2, "0")}:${((i >> 8) & 0xff).toString(16).padStart(2, "0")}:${(i & 0xff).toString(16).padStart(2, "0")}:01`;

describe("offers", () => {
  test("300 DISCOVERs from unknown MACs on a /24: `vmlan attach` still gets an address at once", () => {
    const { ask, leases } = setup();
    for (let i = 0; i < 300; i++) ask({ type: MessageType.DISCOVER, mac: strangerMac(i) });
    expect(leases.attach({ network: "lab", id: "known" }).attachment.address).toMatch(/^10\.7\.0\.\d+$/);
  });

  test("an offer that is not REQUESTed holds its address for OFFER_HOLD_SECONDS only, and is no attachment", () => {
    const { ask, leases, advance } = setup("10.7.0.0/29"); // 5 guest addresses
    for (let i = 0; i < 5; i++) expect(ask({ type: MessageType.DISCOVER, mac: strangerMac(i) }).reply).not.toBeNull();
    expect(leases.list("lab")).toEqual([]); // offers are not attachments: nothing resolves, nothing to detach
    expect(ask({ type: MessageType.DISCOVER, mac: strangerMac(99) }).reply).toBeNull(); // the pool is held
    advance(OFFER_HOLD_SECONDS + 1);
    expect(ask({ type: MessageType.DISCOVER, mac: strangerMac(99) }).reply).not.toBeNull();
  });

  test("a repeated DISCOVER is offered the same address; the REQUEST turns the offer into a lease", () => {
    const { ask, dora, leases } = setup();
    const first = ask({ type: MessageType.DISCOVER, mac: strangerMac(1) }).reply!.yiaddr;
    expect(ask({ type: MessageType.DISCOVER, mac: strangerMac(1) }).reply!.yiaddr).toBe(first);
    expect(dora(strangerMac(1))).toBe(first);
    expect(leases.get("lab", idForMac(strangerMac(1)))).toMatchObject({ address: first, state: "active" });
  });
});

describe("lease time", () => {
  test("a DHCP lease that is not renewed ends at its lease time; the claim stays for the same MAC", () => {
    const { dora, leases, advance, ask } = setup();
    const addr = dora(strangerMac(7))!;
    advance(LEASE_SECONDS - 10);
    expect(leases.list("lab").map((a) => a.address)).toEqual([addr]);
    advance(20);
    expect(leases.list("lab")).toEqual([]);
    expect(leases.list("lab", true)).toEqual([expect.objectContaining({ address: addr, state: "released" })]);
    expect(ask({ type: MessageType.DISCOVER, mac: strangerMac(7) }).reply!.yiaddr).toBe(addr);
  });

  test("a renewal (REQUEST with ciaddr) extends the lease by the full lease time", () => {
    const { dora, ask, leases, advance } = setup();
    const addr = dora(strangerMac(8))!;
    advance(LEASE_SECONDS / 2);
    expect(ask({ type: MessageType.REQUEST, mac: strangerMac(8), ciaddr: addr }).reply?.type).toBe(MessageType.ACK);
    advance(LEASE_SECONDS - 10);
    expect(leases.get("lab", idForMac(strangerMac(8))).state).toBe("active");
  });

  test("an attachment made by `vmlan attach` never expires, whatever its guest's DHCP client does", () => {
    const { ask, leases, advance } = setup();
    const a = leases.attach({ network: "lab", id: "vm" }).attachment;
    ask({ type: MessageType.DISCOVER, mac: a.mac });
    ask({ type: MessageType.REQUEST, mac: a.mac, options: [[Opt.REQUESTED_IP, optIp(a.address!)]] });
    advance(10 * LEASE_SECONDS);
    expect(leases.get("lab", "vm")).toMatchObject({ address: a.address, state: "active", expiresAt: null });
  });
});

describe("a flood of unknown MACs never keeps known ids or `vmlan attach` from an address", () => {
  test("complete exchanges (DISCOVER + REQUEST) from 300 MACs leave a reserve for `vmlan attach`", () => {
    const { dora, leases } = setup();
    let bound = 0;
    for (let i = 0; i < 300; i++) if (dora(strangerMac(i))) bound++;
    expect(bound).toBeGreaterThan(200);
    expect(bound).toBeLessThan(253);
    for (let i = 0; i < 253 - bound; i++) expect(leases.attach({ network: "lab", id: `vm${i}` }).created).toBe(true);
  });

  test("a long-running server keeps the reserve exact: strangers are refused at it and let in again once a lease is released or removed", () => {
    const { dora, ask, store } = setup("10.7.0.0/27"); // 29 guest addresses, a reserve of 1, one connection throughout (the daemon's)
    const bound = Array.from({ length: 28 }, (_, i) => dora(strangerMac(i)));
    expect(bound.every((a) => a !== null)).toBe(true);
    expect(ask({ type: MessageType.DISCOVER, mac: strangerMac(100) }).reply).toBeNull(); // the last address is the reserve
    // A RELEASE ends a lease: one stranger more may come in (onto the never-used address).
    ask({ type: MessageType.RELEASE, mac: strangerMac(0), ciaddr: bound[0]!, options: [[Opt.SERVER_ID, optIp("10.7.0.1")]] });
    expect(dora(strangerMac(101))).toBe("10.7.0.30");
    expect(ask({ type: MessageType.DISCOVER, mac: strangerMac(102) }).reply).toBeNull();
    // A lease removed (`vmlan rm` of its id): the same; the stranger takes the removed lease's address.
    store.tx(() => store.deleteLease("lab", idForMac(strangerMac(1))));
    expect(dora(strangerMac(103))).toBe(bound[1]);
    expect(ask({ type: MessageType.DISCOVER, mac: strangerMac(104) }).reply).toBeNull();
  });

  test("offers alone count toward the reserve while they are held, and stop counting when they run out", () => {
    const { ask, advance } = setup("10.7.0.0/27"); // 29 guest addresses, a reserve of 1
    for (let i = 0; i < 28; i++) expect(ask({ type: MessageType.DISCOVER, mac: strangerMac(i) }).reply).not.toBeNull();
    expect(ask({ type: MessageType.DISCOVER, mac: strangerMac(100) }).reply).toBeNull();
    advance(OFFER_HOLD_SECONDS + 1);
    expect(ask({ type: MessageType.DISCOVER, mac: strangerMac(100) }).reply).not.toBeNull();
  });

  test("strangers never take a known id's released claim: it comes back with its own address", () => {
    const { dora, leases } = setup();
    const known = leases.attach({ network: "lab", id: "known" }).attachment;
    leases.detach("lab", "known");
    for (let i = 0; i < 300; i++) dora(strangerMac(i));
    expect(leases.attach({ network: "lab", id: "known" }).attachment.address).toBe(known.address);
  });

  test("expired DHCP leases are reclaimed by allocation itself (no daemon needed)", () => {
    const { dora, leases, advance, store } = setup("10.7.0.0/28"); // 13 guest addresses
    for (let i = 0; i < 13; i++) dora(strangerMac(i));
    advance(LEASE_SECONDS + 1);
    const got = Array.from({ length: 13 }, (_, i) => leases.attach({ network: "lab", id: `vm${i}` }).attachment.address);
    expect(new Set(got).size).toBe(13);
    expect(store.countActive("lab")).toBe(13);
  });
});

test("a store from before lease times: DHCP's rows become leases that end an hour later, hostnames lowercase", () => {
  const dir = mkdtempSync(join(tmpdir(), "vmlan-v2-"));
  try {
    const path = join(dir, "v2.db");
    const db = new Database(path, { create: true });
    for (const m of MIGRATIONS.slice(0, 2)) db.run(m);
    db.run("PRAGMA user_version = 2");
    db.run(`INSERT INTO networks (name, mode, subnet, gateway, mtu, bridge, labels, builtin, created_at) VALUES ('old', 'shared', '10.4.0.0/24', '10.4.0.1', 1500, 'vl-old', '{}', 0, 'then')`);
    const row = (id: string, mac: string, addr: number, hostname: string) =>
      db.run(`INSERT INTO attachments (network, id, mac, addr, hostname, state, created_at, updated_at) VALUES ('old', ?, ?, ?, ?, 'active', 'then', 'then')`, [id, mac, addr, hostname]);
    row("mac-02ee00000001", "02:ee:00:00:00:01", 0x0a040002, "flood");
    row("vm", "02:00:00:00:00:02", 0x0a040003, "WEB");
    db.close();
    const store = new Store(path);
    const dhcp = store.getLease("old", "mac-02ee00000001")!;
    expect(dhcp.origin).toBe("dhcp");
    expect(Math.abs(dhcp.expiresAt! - (Date.now() + LEASE_SECONDS * 1000))).toBeLessThan(5000);
    expect(store.getLease("old", "vm")).toMatchObject({ origin: "attach", expiresAt: null, hostname: "web" });
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
