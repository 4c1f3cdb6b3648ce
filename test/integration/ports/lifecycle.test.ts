/**
 * What a published port's life looks like from the outside: refused up front when it cannot work
 * (exit 2 for a bad spec, 4 for a taken port, naming the holder), held against other programs while
 * it is in effect, gone from the kernel's listing after port rm, detach, network rm and system stop,
 * back after attach and system start, re-created by a restarted daemon; and route_localnet (which
 * 127.0.0.1 ports need) never lets a guest reach the host's loopback.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ethernet, ipv4, parseIpv4, parseMac } from "../../support/frames.ts";
import { BUN } from "../../support/netns.ts";
import { dnatRules, get, type GuestNs, nftTable, PortsHost, until, WAN } from "./support.ts";

let h: PortsHost;
let web: GuestNs;
let other: GuestNs;

beforeAll(async () => {
  h = new PortsHost();
  await h.ok("system", "start");
  await h.ok("network", "create", "life", "--subnet", "10.93.0.0/24");
  await h.ok("network", "create", "life2", "--subnet", "10.94.0.0/24", "--mode", "host");
  web = await h.guest("life", "web");
  other = await h.guest("life2", "web2");
  await h.http(web, "web", 80);
  await h.http(other, "web2", 80);
});

afterAll(async () => {
  await h?.close();
});

const fails = async (code: number, ...args: string[]) => {
  const r = await h.vmlan(...args);
  expect({ code: r.exitCode, stdout: r.stdout }).toEqual({ code, stdout: "" });
  return r.stderr.trim();
};

describe("refused up front, nothing half applied", () => {
  test("bad specs exit 2 with one line naming the value; the store and the kernel are unchanged", async () => {
    const before = nftTable(h.ns, "vl-life");
    expect(await fails(2, "port", "add", "life", "--id", "web", "8080:80", "8081")).toBe(
      'error: invalid SPEC "8081": the host port is required, as in HOST_PORT:GUEST_PORT; expected [HOST_IP:]HOST_PORT[-END]:GUEST_PORT[-END][/tcp|/udp]');
    expect(await fails(2, "port", "add", "life", "--id", "web", "8080:80", "8080:80\x1b[31m")).toStartWith('error: invalid SPEC "8080:80\\x1b[31m"');
    expect(await fails(2, "port", "add", "life", "--id", "web", "192.0.2.99:8080:80")).toBe("error: host address 192.0.2.99 is not an address of this host; use 127.0.0.1, 0.0.0.0, [::] or one of its addresses");
    expect(await fails(2, "port", "add", "life", "--id", "web", "[::]:8080:80")).toContain('network "life" has no IPv6 prefix');
    expect(await fails(3, "port", "add", "life", "--id", "nobody", "8080:80")).toContain('no attachment "nobody" on network "life"');
    expect(await h.json("port", "ls")).toEqual([]);
    expect(nftTable(h.ns, "vl-life")).toBe(before);
  });

  test("a host port published by another attachment is exit 4 naming it, across networks", async () => {
    await h.ok("port", "add", "life", "--id", "web", "0.0.0.0:8080:80");
    expect(await fails(4, "port", "add", "life2", "--id", "web2", "8079:80", "8080:80")).toBe(
      'error: host port 127.0.0.1:8080:80/tcp is already published by "web" on "life" (0.0.0.0:8080:80/tcp)');
    expect((await h.json<{ id: string }[]>("port", "ls")).map((p) => p.id)).toEqual(["web"]); // 8079 was not kept
  });

  test("a host port another program listens on is exit 4 naming the program", async () => {
    const nc = h.spawn(h.ns, ["busybox", "nc", "-l", "-p", "8090"]);
    await until(() => h.ns.run(["ss", "-Hltn", "sport = :8090"]).stdout.includes("8090"), "nc listening");
    expect(await fails(4, "port", "add", "life", "--id", "web", "8090:80")).toMatch(new RegExp(`^error: host port 127\\.0\\.0\\.1:8090:80/tcp is in use by busybox \\(pid ${nc.pid}\\)$`));
    nc.kill("SIGKILL");
  });

  test("vm run and run -p check the same before anything starts", async () => {
    expect(await fails(4, "run", "--network", "life2", "--id", "runner", "-p", "0.0.0.0:8080:80", "--", "true")).toContain('already published by "web" on "life"');
    expect(await fails(2, "run", "--network", "life2", "--id", "runner", "-p", "80", "--", "true")).toBe('error: invalid --publish "80": expected [HOST_IP:]HOST_PORT[-END]:GUEST_PORT[-END][/tcp|/udp] (the host port is required, as in HOST_PORT:GUEST_PORT)');
    expect((await h.json<{ id: string }[]>("attachments", "life2")).map((a) => a.id)).toEqual(["web2"]); // no lease was taken
  });
});

describe("in effect", () => {
  test("held: another program cannot bind the port while it is published (ss shows vmlan)", async () => {
    await until(() => h.ns.run(["ss", "-Hltnp", "sport = :8080"]).stdout.includes("vmlan"), "the daemon's hold");
    const r = h.ns.run(["busybox", "nc", "-l", "-p", "8080"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Address already in use");
    expect(get(h.up, `http://${WAN.host}:8080/`)).toBe("web 80");
  });

  test("run -p publishes for the command's lifetime", async () => {
    const r = await h.vmlan("run", "--network", "life2", "--id", "runner", "--native", "-p", "0.0.0.0:8091:80", "--",
      "sh", "-c", "nft list chain inet vmlan ports_pre_vl-life2 | grep -c 'dport 8091'");
    expect({ code: r.exitCode, out: r.stdout.trim() }).toEqual({ code: 0, out: "1" });
    expect(nftTable(h.ns, "vl-life2")).not.toContain("8091"); // released with the run
    expect((await h.json<{ id: string; state: string }[]>("port", "ls", "life2")).find((p) => p.id === "runner")?.state).toBe("inactive");
  });
});

describe("removed, and back", () => {
  test("port rm: the rule leaves the kernel at once", async () => {
    await h.ok("port", "add", "life2", "--id", "web2", "0.0.0.0:8085:80");
    expect(get(h.up, `http://${WAN.host}:8085/`)).toBe("web2 80"); // a host-only network, reached because it was published
    await h.ok("port", "rm", "life2", "--id", "web2", "0.0.0.0:8085:80");
    expect(nftTable(h.ns, "vl-life2")).not.toContain("8085");
    expect(get(h.up, `http://${WAN.host}:8085/`, 1)).toBeNull();
    expect(await fails(3, "port", "rm", "life2", "--id", "web2", "0.0.0.0:8085:80")).toContain("does not publish");
  });

  test("detach removes the rules, attach brings them back", async () => {
    await h.ok("detach", "life", "--id", "web");
    expect(dnatRules(h.ns, nftTable(h.ns, "vl-life"))).toEqual([]);
    expect(h.ns.sh(["cat", "/proc/sys/net/ipv4/conf/vl-life/route_localnet"]).trim()).toBe("0"); // off while no rule needs it
    expect(get(h.up, `http://${WAN.host}:8080/`, 1)).toBeNull();
    expect((await h.json<{ state: string }[]>("port", "ls", "life"))[0]!.state).toBe("inactive");
    await h.ok("attach", "life", "--id", "web");
    expect(get(h.up, `http://${WAN.host}:8080/`)).toBe("web 80");
  });

  test("system stop takes them down with the networks; system start brings them back", async () => {
    await h.ok("system", "stop");
    expect(dnatRules(h.ns)).toEqual([]);
    await h.ok("system", "start");
    // The guests' veths were on the old bridges: cable them again, as a VM's port would be.
    await h.recable(web);
    expect(get(h.up, `http://${WAN.host}:8080/`)).toBe("web 80");
    await until(() => h.ns.run(["ss", "-Hltnp", "sport = :8080"]).stdout.includes("vmlan"), "the hold after system start");
  });

  test("a restarted daemon re-creates rules the kernel lost", async () => {
    for (const c of ["ports_pre", "ports_out", "ports_post"]) h.ns.sh(["nft", "flush", "chain", "inet", "vmlan", `${c}_vl-life`]);
    expect(get(h.up, `http://${WAN.host}:8080/`, 1)).toBeNull();
    const pid = h.daemonPid()!;
    process.kill(pid, "SIGTERM");
    await until(() => { try { process.kill(pid, 0); return false; } catch { return true; } }, "the daemon to stop");
    await h.ok("system", "start");
    await until(() => get(h.up, `http://${WAN.host}:8080/`, 1) === "web 80", "the rules again");
  });

  test("route_localnet never lets a guest reach the host's 127.0.0.1 (the guard chain drops it)", async () => {
    await h.ok("port", "add", "life", "--id", "web", "8086:80"); // 127.0.0.1: route_localnet on vl-life
    const lo = h.spawn(h.ns, [BUN, "test/support/udp-echo.ts", "--tag", "host-lo", "--port", "4444"]);
    const lines: string[] = [];
    void (async () => { for await (const c of lo.stdout) lines.push(...new TextDecoder().decode(c).split("\n")); })();
    await until(() => lines.includes("ready"), "loopback listener");
    const bridgeMac = h.ns.ipJson<{ address: string }[]>(["link", "show", "vl-life"])[0]!.address;
    const guestMac = web.ns.ipJson<{ address: string }[]>(["link", "show", "eth0"])[0]!.address;
    const udpHeader = new Uint8Array([0x0f, 0xa0, 0x11, 0x5c, 0, 9, 0, 0, 0x78]); // 4000 -> 4444, length 9, no checksum, "x"
    const frame = ethernet(parseMac(bridgeMac), parseMac(guestMac), 0x0800, ipv4({ src: parseIpv4(web.address), dst: parseIpv4("127.0.0.1"), proto: 17, payload: udpHeader }));
    const send = () => web.ns.sh([BUN, "test/support/send-frame.ts", "eth0", Buffer.from(frame).toString("hex"), "3"]);
    send();
    await Bun.sleep(300);
    expect(lines.filter((l) => l.startsWith("got"))).toEqual([]);
    expect(nftTable(h.ns, "vl-life")).toMatch(/ip daddr 127\.0\.0\.0\/8 counter packets [1-9]/);
    // Without the guard the same frames reach the listener: the guard is what stops them.
    h.ns.sh(["nft", "flush", "chain", "inet", "vmlan", "guard_vl-life"]);
    send();
    await until(() => lines.some((l) => l === "got 4444 x"), "the unguarded frame");
    await h.ok("system", "start"); // puts the guard back
    expect(nftTable(h.ns, "vl-life")).toContain("ip daddr 127.0.0.0/8 counter");
  });

  test("network rm leaves nothing behind", async () => {
    await h.ok("network", "rm", "life", "--force");
    await h.ok("network", "rm", "life2", "--force");
    expect(dnatRules(h.ns)).toEqual([]);
    expect(await h.json("port", "ls")).toEqual([]);
  });
});
