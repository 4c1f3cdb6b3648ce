/**
 * Published ports through the compiled binary, for real: a web server in a guest namespace on a
 * vmlan bridge, reached through the host's port from the host itself (127.0.0.1 too), from an
 * upstream LAN namespace only when bound there, from other guests through their gateway; UDP,
 * ranges, IPv6 (the host's [::1] through the daemon's proxy). The kernel's own listing shows the rules.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { get, getFirst, type GuestNs, PortsHost, udp, until, WAN, nftTable } from "./support.ts";

let h: PortsHost;
let web: GuestNs;
let client: GuestNs;
let far: GuestNs;

beforeAll(async () => {
  h = new PortsHost();
  await h.ok("system", "start");
  await h.ok("network", "create", "pub", "--subnet", "10.91.0.0/24", "--subnet-v6", "fd91::/64");
  await h.ok("network", "create", "other", "--subnet", "10.92.0.0/24");
  web = await h.guest("pub", "web");
  client = await h.guest("pub", "client");
  far = await h.guest("other", "far");
  await h.http(web, "web", 80, 7000, 7001, 7002);
  await h.udpEcho(web, 5353, 6000, 6001);
});

afterAll(async () => {
  await h?.close();
});

describe("port add", () => {
  test("the default, 127.0.0.1, is the host's alone: not the LAN's, not the guests'", async () => {
    const out = await h.ok("port", "add", "pub", "--id", "web", "8080:80");
    expect(out).toBe("published 127.0.0.1:8080:80/tcp -> web on pub\n");
    expect(get(h.ns, "http://127.0.0.1:8080/")).toBe("web 80");
    expect(get(h.up, `http://${WAN.host}:8080/`, 1)).toBeNull();
    expect(get(client.ns, `http://${client.gateway}:8080/`, 1)).toBeNull();
    expect(nftTable(h.ns, "vl-pub")).toContain(`ip daddr 127.0.0.1 tcp dport 8080 dnat ip to ${web.address}:80`);
    // The kernel carried it (no proxy: conntrack has the host's own 127.0.0.1 connection) and the
    // guest answered the gateway (masquerade), since it could never answer 127.0.0.1.
    const ct = h.ns.sh(["cat", "/proc/net/nf_conntrack"]).split("\n").find((l) => l.includes("dst=127.0.0.1") && l.includes("dport=8080"));
    expect(ct).toContain(`src=${web.address} dst=${web.gateway} sport=80`);
    expect(h.ns.sh(["cat", "/proc/sys/net/ipv4/conf/vl-pub/route_localnet"]).trim()).toBe("1");
  });

  test("0.0.0.0 reaches it from the LAN, from the host's addresses, and from guests through their gateway (hairpin, other networks)", async () => {
    await h.ok("port", "add", "pub", "--id", "web", "0.0.0.0:8081:80");
    expect(get(h.up, `http://${WAN.host}:8081/`)).toBe("web 80");
    expect(get(h.ns, `http://${WAN.host}:8081/`)).toBe("web 80");
    expect(get(h.ns, "http://127.0.0.1:8081/")).toBe("web 80");
    expect(get(client.ns, `http://${client.gateway}:8081/`)).toBe("web 80");
    expect(get(far.ns, `http://${far.gateway}:8081/`)).toBe("web 80");
  });

  test("one of the host's addresses: that address only", async () => {
    await h.ok("port", "add", "pub", "--id", "web", `${WAN.host}:8082:80`);
    expect(get(h.up, `http://${WAN.host}:8082/`)).toBe("web 80");
    expect(get(h.ns, "http://127.0.0.1:8082/", 1)).toBeNull();
    expect(get(client.ns, `http://${client.gateway}:8082/`, 1)).toBeNull();
  });

  test("UDP", async () => {
    await h.ok("port", "add", "pub", "--id", "web", "0.0.0.0:5353:5353/udp", "6000:6000/udp");
    expect(udp(h.up, WAN.host, 5353, "hi")).toBe("web:5353:hi");
    expect(udp(h.ns, "127.0.0.1", 6000, "lo")).toBe("web:6000:lo");
    expect(udp(client.ns, client.gateway, 5353, "hairpin")).toBe("web:5353:hairpin");
  });

  test("ranges keep their order, shifted or not", async () => {
    await h.ok("port", "add", "pub", "--id", "web", "0.0.0.0:9000-9002:7000-7002", "0.0.0.0:6100-6101:6000-6001/udp");
    expect([9000, 9001, 9002].map((p) => get(h.up, `http://${WAN.host}:${p}/`))).toEqual(["web 7000", "web 7001", "web 7002"]);
    expect(udp(h.up, WAN.host, 6101, "r")).toBe("web:6001:r");
  });

  test("IPv6: [::] from the LAN, the host and guests; [::1] and the ::1 part of [::] through the daemon", async () => {
    await h.ok("port", "add", "pub", "--id", "web", "[::]:8443:80", "[::1]:8444:80");
    expect(getFirst(`http://[${WAN.host6}]:8443/`, h.up, [h.ns, web.ns])).toBe("web 80");
    expect(get(client.ns, `http://[fd91::1]:8443/`)).toBe("web 80");
    expect(get(h.ns, `http://[${WAN.host6}]:8443/`)).toBe("web 80");
    expect(get(h.ns, "http://[::1]:8443/")).toBe("web 80");
    expect(get(h.ns, "http://[::1]:8444/")).toBe("web 80");
    expect(nftTable(h.ns, "vl-pub")).toContain(`dnat ip6 to [${web.address6}]:80`);
  });

  test("IPv6 UDP: [::] in the kernel, [::1] through the daemon's relay", async () => {
    await h.ok("port", "add", "pub", "--id", "web", "[::]:6201:5353/udp", "[::1]:6200:5353/udp");
    expect(udp(h.up, WAN.host6, 6201, "v6")).toBe("web:5353:v6");
    await until(() => h.ns.run(["ss", "-Hlun", "sport = :6200"]).stdout.includes("[::1]"), "the daemon's [::1] socket");
    expect(udp(h.ns, "::1", 6200, "v6lo")).toBe("web:5353:v6lo");
  });

  test("port ls and attachments show them; JSON has every field", async () => {
    const ls = await h.json<{ spec: string; state: string; guestAddress: string }[]>("port", "ls", "pub");
    expect(ls.map((p) => p.spec)).toContain("127.0.0.1:8080:80/tcp");
    expect(ls.every((p) => p.state === "active")).toBe(true);
    const table = await h.ok("attachments", "pub");
    expect(table).toContain("127.0.0.1:8080->80/tcp");
    const inspect = (await h.json("network", "inspect", "pub"))[0];
    expect(inspect.ports.length).toBe(ls.length);
  });
});
