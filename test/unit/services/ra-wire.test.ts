/** Router advertisement bytes (src/services/ra/wire.ts, server.ts raFor) as RFC 4861 and RFC 8106 lay them out. */
import { expect, test } from "bun:test";
import { encodeRa, isRouterSolicit, ND_ROUTER_ADVERT } from "../../../src/services/ra/wire.ts";
import { raFor } from "../../../src/services/ra/server.ts";
import { addNetwork, services } from "../../support/memory.ts";

/** Options as [type, bytes] walking the 8-byte units after the 16-byte RA header. */
function options(ra: Uint8Array): Array<[number, Uint8Array]> {
  const out: Array<[number, Uint8Array]> = [];
  for (let i = 16; i < ra.length;) {
    const len = ra[i + 1]! * 8;
    expect(len).toBeGreaterThan(0);
    out.push([ra[i]!, ra.subarray(i, i + len)]);
    i += len;
  }
  return out;
}

test("a shared /64 network: router lifetime 1800, MTU, on-link + autonomous prefix, RDNSS = gateway, DNSSL = domain", () => {
  const { store } = services();
  const net = addNetwork(store, "six", "10.8.0.0/24", { subnetV6: "fd00:8::/64", mtu: 1400 });
  const ra = raFor(net);
  expect([ra[0], ra[1], ra[4]]).toEqual([ND_ROUTER_ADVERT, 0, 64]);
  expect((ra[6]! << 8) | ra[7]!).toBe(1800);
  const opts = new Map(options(ra));
  const mtu = opts.get(5)!;
  expect(new DataView(mtu.buffer, mtu.byteOffset).getUint32(4)).toBe(1400);
  const pi = opts.get(3)!;
  expect([pi[1], pi[2], pi[3]]).toEqual([4, 64, 0xc0]);
  expect([...pi.subarray(16, 32)]).toEqual([0xfd, 0, 0, 8, ...new Array(12).fill(0)]);
  expect([...opts.get(25)!.subarray(8, 24)]).toEqual([0xfd, 0, 0, 8, ...new Array(11).fill(0), 1]);
  const dnssl = opts.get(31)!;
  expect([...dnssl.subarray(8, 8 + 16)]).toEqual([3, ...new TextEncoder().encode("six"), 5, ...new TextEncoder().encode("vmlan"), 0, 0, 0, 0, 0, 0]);
});

test("host-only networks are not default routers; prefixes other than /64 are on-link only", () => {
  const ra = encodeRa({ prefix: new Uint8Array(16), prefixLength: 48, routerLifetime: 0, mtu: 1500, dns: null, domain: null, validLifetime: 1, preferredLifetime: 1, dnsLifetime: 1 });
  expect((ra[6]! << 8) | ra[7]!).toBe(0);
  expect(options(ra).map(([t]) => t)).toEqual([5, 3]);
  expect(options(ra)[1]![1][3]).toBe(0x80);
  expect(isRouterSolicit(Uint8Array.of(133, 0, 0, 0, 0, 0, 0, 0))).toBe(true);
  expect(isRouterSolicit(Uint8Array.of(133, 0, 0))).toBe(false);
});
