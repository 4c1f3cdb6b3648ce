// What moves with an uplink (pure selection over netlink's records), merging records, and what stays after a failure.
import { describe, expect, test } from "bun:test";
import { AF_INET, AF_INET6 } from "../../../../ffi/libc/constants.ts";
import { IFA_F_NODAD, IFA_F_PERMANENT, RT_SCOPE_HOST, RT_SCOPE_UNIVERSE, RTN_UNICAST, RTPROT_KERNEL, RTPROT_RA } from "../../../../ffi/netlink/constants.ts";
import { failedPart, merge, movableAddresses, movableRoutes } from "../../../../src/platform/linux/uplink-move.ts";
import { parseAddress } from "../../../../src/platform/linux/ip.ts";
import type { RouteDetail } from "../../../../src/platform/linux/routes.ts";

const addr = (a: string, prefixlen: number, flags: number, scope = RT_SCOPE_UNIVERSE) => ({ ...((p) => ({ family: p.family, address: p.bytes }))(parseAddress(a)), prefixlen, flags, scope, index: 2 });
const route = (dst: string, prefix: number, o: Partial<RouteDetail> = {}): RouteDetail => ({
  family: dst.includes(":") ? AF_INET6 : AF_INET, dst, prefix, gateway: null, priority: null, prefsrc: null, protocol: 3, scope: 0, type: RTN_UNICAST, table: 254, flags: 0, oif: 2, ...o,
});

describe("what moves", () => {
  test("IPv4 addresses (not host scope) and static IPv6 ones move; link-local and SLAAC IPv6 stay; kernel-set flags are dropped", () => {
    const moved = movableAddresses([
      addr("192.168.1.20", 24, IFA_F_PERMANENT), addr("169.254.3.4", 16, 0), addr("127.0.0.2", 8, IFA_F_PERMANENT, RT_SCOPE_HOST),
      addr("2001:db8::20", 64, IFA_F_PERMANENT | IFA_F_NODAD), addr("2001:db8::abcd", 64, 0), addr("fe80::1", 64, IFA_F_PERMANENT),
    ]);
    expect(moved).toEqual([
      { address: "192.168.1.20", prefix: 24, flags: 0 }, { address: "169.254.3.4", prefix: 16, flags: 0 }, { address: "2001:db8::20", prefix: 64, flags: IFA_F_NODAD },
    ]);
  });

  test("routes the kernel derived (prefix routes) or an RA made stay; static, boot and DHCP routes move; only ONLINK of the flags", () => {
    const moved = movableRoutes([
      route("192.168.1.0", 24, { protocol: RTPROT_KERNEL }), route("0.0.0.0", 0, { gateway: "192.168.1.1", protocol: 16, flags: 0x10 | 0x4 }),
      route("::", 0, { gateway: "fe80::1", protocol: RTPROT_RA }), route("10.8.0.0", 16, { gateway: "192.168.1.254", priority: 50 }),
      route("192.0.2.0", 24, { type: 6 /* prohibit */ }),
    ]);
    expect(moved.map((r) => [r.dst, r.prefix, r.gateway, r.flags])).toEqual([["0.0.0.0", 0, "192.168.1.1", 0x4], ["10.8.0.0", 16, "192.168.1.254", 0]]);
  });

  test("a record keeps what it had and gains what the uplink got since; a failure keeps only what did not move", () => {
    const r0 = { uplink: "up0", addresses: [{ address: "192.168.1.20", prefix: 24, flags: 0 }], routes: movableRoutes([route("0.0.0.0", 0, { gateway: "192.168.1.1" })]) };
    const now = { uplink: "up0", addresses: [{ address: "192.168.1.20", prefix: 24, flags: 0 }, { address: "192.168.1.77", prefix: 24, flags: 0 }], routes: r0.routes };
    const m = merge(r0, now);
    expect(m.addresses.map((a) => a.address)).toEqual(["192.168.1.20", "192.168.1.77"]);
    expect(m.routes).toHaveLength(1);
    expect(merge(null, now)).toBe(now);
    const left = failedPart(m, [{ what: "route", route: m.routes[0], message: "RTM_NEWROUTE: ENETUNREACH" }]);
    expect(left).toEqual({ uplink: "up0", addresses: [], routes: m.routes });
  });
});
