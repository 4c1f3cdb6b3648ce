/**
 * Held ports that relay to the guest (carrier "proxy": macOS's answer where vmnet cannot forward,
 * docs/ports.md), with real sockets in a namespace this file creates; the code runs in proxy-run.ts.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";

let ns: Netns;
beforeAll(() => { ns = createNetns(); });
afterAll(() => ns?.delete());

test("proxied ports relay TCP and UDP to the guest; a kernel-carried hold closes; a vmnet-carried port is not held", () => {
  const r = ns.run([BUN, "test/integration/ports/proxy-run.ts"]);
  expect(r.code, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout);
  // The guest refused: the client sees its connection closed, or reset when "hello" was already sent.
  expect(["closed", "error ECONNRESET"]).toContain(out.proxiedTcpRefused);
  expect(out).toEqual({
    held: [
      "tcp 127.0.0.1:8080 127.0.0.2:80 proxy",
      "tcp 127.0.0.1:8081 127.0.0.2:81 proxy",
      "tcp 127.0.0.1:9090 127.0.0.2:80",
      "udp 127.0.0.1:5353 127.0.0.2:53 proxy",
      "after: 0",
    ],
    proxiedTcp: "guest:hello",
    proxiedTcpRefused: out.proxiedTcpRefused,
    refusedAgain: 3,
    proxiedUdp: ["guest:one", "guest:two"],
    kernelHold: "closed",
    vmnetFree: true,
    logged: ["1 relayed connections to 127.0.0.2:81 that failed ignored (latest: proxy to 127.0.0.2:81: connect ECONNREFUSED 127.0.0.2:81)"],
  });
});
