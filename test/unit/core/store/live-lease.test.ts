/**
 * The store's one-row lookups the DNS zone makes per query (liveLease): by hostname, address and
 * MAC, only leases that are live (active and not past a DHCP expiry), and the MAC back from a
 * guest's EUI-64 IPv6 address, which is how a reverse ip6.arpa name finds its lease.
 */
import { expect, test } from "bun:test";
import { addNetwork, services } from "../../../support/memory.ts";
import { v4ToInt, v6ToBig } from "../../../../src/core/ipam/subnet.ts";
import { eui64, macOfEui64 } from "../../../../src/core/ipam/ipv6.ts";

test("a live lease is found by hostname, address and MAC; a released or expired one is not", () => {
  const { store, leases } = services();
  addNetwork(store, "lab", "10.40.0.0/24");
  const web = leases.attach({ network: "lab", id: "web" }).attachment;
  expect(store.liveLease("lab", "hostname", "web")?.id).toBe("web");
  expect(store.liveLease("lab", "addr", v4ToInt(web.address!))?.id).toBe("web");
  expect(store.liveLease("lab", "mac", web.mac)?.id).toBe("web");
  expect(store.liveLease("other", "hostname", "web")).toBeNull();

  leases.detach("lab", "web");
  expect(store.liveLease("lab", "hostname", "web")).toBeNull();
  expect(store.liveLease("lab", "addr", v4ToInt(web.address!))).toBeNull();

  // A DHCP lease past its end is not live, even before anything wrote the expiry.
  const db = leases.attach({ network: "lab", id: "db" }).attachment;
  store.tx(() => store.putLease({ ...store.getLease("lab", "db")!, expiresAt: Date.now() - 1000 }));
  expect(store.liveLease("lab", "hostname", "db")).toBeNull();
  expect(store.liveLease("lab", "hostname", "db", Date.now() - 5000)?.addr).toBe(v4ToInt(db.address!));
});

test("the MAC comes back from a modified EUI-64 interface id; other ids have none", () => {
  for (const mac of ["02:00:00:00:00:01", "52:54:00:12:34:56", "fe:dc:ba:98:76:54"]) {
    expect(macOfEui64((0xfd00n << 112n) | eui64(mac))).toBe(mac);
  }
  expect(macOfEui64(v6ToBig("fd00::1"))).toBeNull();
  expect(macOfEui64(v6ToBig("fd00::1234:5678:9abc:def0"))).toBeNull();
});
