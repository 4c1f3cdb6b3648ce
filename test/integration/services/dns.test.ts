/**
 * DNS through the compiled binary: the services daemon answers on each network's gateway (UDP and
 * TCP port 53) with the store's names, and forwards everything else to an upstream resolver that
 * the test runs in its own upstream namespace (VMLAN_DNS_UPSTREAM points there). Clients are dig
 * and raw sockets, run inside the test namespace.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { BUN } from "../../support/netns.ts";
import { Host } from "./support.ts";

const TIMEOUT_MS = 30_000;
const UPSTREAM = "10.252.0.2";
let host: Host;
let resolver: { stop(): void };

beforeAll(async () => {
  host = new Host({ VMLAN_DNS_UPSTREAM: UPSTREAM });
  resolver = await host.startUpstream(UPSTREAM);
  await host.ok("system", "start");
  await host.ok("network", "create", "dnsnet", "--subnet", "10.92.1.0/24", "--subnet-v6", "fd00:92::/64");
  await host.ok("network", "create", "corp", "--subnet", "10.92.2.0/24", "--dns-domain", "corp.test");
  await host.ok("attach", "dnsnet", "--id", "web", "--hostname", "web");
  await host.ok("attach", "corp", "--id", "app");
  await host.waitLog(/dns\[corp\]: listening/);
}, TIMEOUT_MS);

afterAll(async () => {
  resolver?.stop();
  await host?.close();
}, TIMEOUT_MS);

/** `dig` inside the host namespace against a gateway: +short answers, or the status with `status`. */
function dig(server: string, ...args: string[]): string {
  return host.ns.sh(["dig", "+time=3", "+tries=1", `@${server}`, ...args]).trim();
}
const status = (server: string, ...args: string[]) => /status: (\w+)/.exec(dig(server, ...args))?.[1];

describe("DNS responder on each gateway", () => {
  test("guest names resolve bare and qualified (<host>.<network>.vmlan), A and AAAA, over UDP and TCP", async () => {
    const web = await host.json<{ address: string; addressV6: string }>("attach", "dnsnet", "--id", "web", "--hostname", "web");
    const v4 = web.address.split("/")[0]!;
    expect(dig("10.92.1.1", "+short", "web")).toBe(v4);
    expect(dig("10.92.1.1", "+short", "web.dnsnet.vmlan")).toBe(v4);
    expect(dig("10.92.1.1", "+short", "+tcp", "web.dnsnet.vmlan")).toBe(v4);
    expect(dig("10.92.1.1", "+short", "web.dnsnet.vmlan", "AAAA")).toBe(web.addressV6);
    expect(dig("10.92.1.1", "web.dnsnet.vmlan")).toContain("flags: qr aa rd ra");
  }, TIMEOUT_MS);

  test("PTR for guest addresses: in-addr.arpa and ip6.arpa", async () => {
    const web = await host.json<{ address: string; addressV6: string }>("attach", "dnsnet", "--id", "web", "--hostname", "web");
    expect(dig("10.92.1.1", "+short", "-x", web.address.split("/")[0]!)).toBe("web.dnsnet.vmlan.");
    expect(dig("10.92.1.1", "+short", "-x", web.addressV6)).toBe("web.dnsnet.vmlan.");
    expect(status("10.92.1.1", "-x", "10.92.1.200")).toBe("NXDOMAIN");
  }, TIMEOUT_MS);

  test("a network's configured domain, and a fresh `vmlan attach` resolves at once", async () => {
    const app = await host.json<{ address: string }>("attach", "corp", "--id", "app");
    expect(dig("10.92.2.1", "+short", "app.corp.test")).toBe(app.address.split("/")[0]!);
    const fresh = await host.json<{ address: string }>("attach", "corp", "--id", "fresh", "--hostname", "fresh");
    expect(dig("10.92.2.1", "+short", "fresh.corp.test")).toBe(fresh.address.split("/")[0]!);
    await host.ok("detach", "corp", "--id", "fresh");
    expect(status("10.92.2.1", "fresh.corp.test")).toBe("NXDOMAIN");
  }, TIMEOUT_MS);

  test("unknown names inside vmlan's domains are NXDOMAIN; other names are forwarded upstream (UDP and TCP)", () => {
    expect(status("10.92.1.1", "nope.dnsnet.vmlan")).toBe("NXDOMAIN");
    expect(status("10.92.1.1", "nope")).toBe("NXDOMAIN");
    expect(dig("10.92.1.1", "+short", "upstream.example")).toBe("203.0.113.7");
    expect(dig("10.92.1.1", "+short", "+tcp", "tcp.ttl60.example")).toBe("203.0.113.61"); // a TCP client is forwarded over TCP
    expect(status("10.92.1.1", "missing.example")).toBe("NXDOMAIN"); // the upstream's own answer comes back
  }, TIMEOUT_MS);

  test("malformed queries over UDP and TCP get FORMERR or are dropped; the server keeps answering", async () => {
    const pid = host.daemonPid();
    const code = `
      const answers = [];
      const s = await Bun.udpSocket({ socket: { data(_s, d) { answers.push(d); } } });
      const junk = [Uint8Array.of(1, 2, 3), crypto.getRandomValues(new Uint8Array(64)), Uint8Array.of(0xab, 0xcd, 1, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0xff)];
      for (let i = 0; i < 20; i++) for (const j of junk) s.send(j, 53, "10.92.1.1");
      await Bun.sleep(300);
      const rcodes = new Set(answers.map((d) => d[3] & 0x0f));
      const tcp = await Bun.connect({ hostname: "10.92.1.1", port: 53, socket: { data() {}, close() {} } });
      tcp.write(Uint8Array.of(0, 3, 1, 2, 3)); tcp.write(crypto.getRandomValues(new Uint8Array(200)));
      await Bun.sleep(200); tcp.end();
      console.log(JSON.stringify({ answered: answers.length, rcodes: [...rcodes] }));
      s.close();`;
    const r = host.ns.run([BUN, "-e", code]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { answered: number; rcodes: number[] };
    expect(out.rcodes.every((c) => c === 1)).toBe(true); // FORMERR (1) or nothing
    expect(out.answered).toBeGreaterThan(0); // the header-only garbage got FORMERR with its id
    await host.waitLog(/dns\[dnsnet\]: \d+ malformed DNS queries ignored/);
    expect(dig("10.92.1.1", "+short", "web")).toMatch(/^10\.92\.1\.\d+$/);
    expect(dig("10.92.1.1", "+short", "+tcp", "web")).toMatch(/^10\.92\.1\.\d+$/);
    expect(host.daemonPid()).toBe(pid);
  }, TIMEOUT_MS);

  test("`vmlan dns` prints the resolvectl recipe per network; JSON too", async () => {
    const recipes = await host.json<Array<{ network: string; domain: string; server: string; commands: string[] }>>("dns", "corp");
    expect(recipes).toEqual([{ network: "corp", domain: "corp.test", server: "10.92.2.1", commands: ["resolvectl dns vl-corp 10.92.2.1", "resolvectl domain vl-corp '~corp.test'"] }]);
    expect(await host.ok("dns")).toContain("resolvectl domain vl-dnsnet '~dnsnet.vmlan'");
  }, TIMEOUT_MS);

  test("network rm stops that network's servers (SIGHUP); the daemon keeps serving the rest", async () => {
    await host.ok("network", "create", "gone", "--subnet", "10.92.3.0/24");
    await host.waitLog(/dns\[gone\]: listening/);
    await host.ok("network", "rm", "gone");
    await host.waitLog(/services\[gone\]: network gone or down: stopped/);
    const s = await host.json<{ services: { running: boolean } }>("system", "status");
    expect(s.services.running).toBe(true);
  }, TIMEOUT_MS);
});
