/**
 * The services daemon's holds as the userspace datapath (carrier "proxy": what vmnet's forwarding
 * cannot do on macOS), run inside a test namespace with loopback only: a "guest" (TCP and UDP echo
 * on 127.0.0.2) reached through held ports on 127.0.0.1, next to a kernel-carried hold (which closes
 * what reaches it) and a vmnet-carried port (not held at all).
 *   ip netns exec NS bun test/integration/ports/proxy-run.ts
 * Prints one JSON object.
 */
import net from "node:net";
import dgram from "node:dgram";
import { Holds, portsOf } from "../../../src/services/ports/holds.ts";
import { parsePortSpec } from "../../../src/core/ports/spec.ts";
import { assertInTestNetns } from "../../support/netns.ts";

assertInTestNetns();
const GUEST = "127.0.0.2";
const tcpEcho = net.createServer((c) => c.on("data", (d) => c.write(`guest:${d}`)));
await new Promise<void>((r) => tcpEcho.listen(80, GUEST, r));
const udpEcho = dgram.createSocket("udp4");
udpEcho.on("message", (m, from) => udpEcho.send(`guest:${m}`, from.port, from.address));
await new Promise<void>((r) => udpEcho.bind(53, GUEST, r));

const lines: string[] = [];
const holds = new Holds((m) => lines.push(m));
const rule = (spec: string) => ({ ...parsePortSpec(spec), guestAddress: GUEST });
const rules = [rule("8080-8081:80-81"), rule("5353:53/udp"), rule("9090:80"), rule("0.0.0.0:7070:80")];
await holds.update(portsOf(rules, ["proxy", "proxy", "kernel", "vmnet"]));

function tcp(port: number): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect({ host: "127.0.0.1", port }, () => c.write("hello"));
    let got = "";
    c.on("data", (d) => { got += d; if (got.startsWith("guest:")) c.end(); });
    c.on("error", (e) => resolve(`error ${(e as { code?: string }).code}`));
    c.on("close", () => resolve(got || "closed"));
  });
}
function udp(port: number, msg: string, from = dgram.createSocket("udp4")): Promise<string> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve("timeout"), 2000);
    from.once("message", (m) => { clearTimeout(t); resolve(m.toString()); });
    from.send(msg, port, "127.0.0.1");
  });
}
const client = dgram.createSocket("udp4");
const out = {
  held: holds.held(),
  proxiedTcp: await tcp(8080),
  // 8081 leads to the guest's 81, where nothing listens: the client's connection goes too.
  proxiedTcpRefused: await tcp(8081),
  // Again and again: still the one line above within the interval.
  refusedAgain: (await Promise.all([tcp(8081), tcp(8081), tcp(8081)])).length,
  proxiedUdp: [await udp(5353, "one", client), await udp(5353, "two", client)],
  kernelHold: await tcp(9090),
  // Nobody holds the vmnet-carried port: vmnet binds it itself.
  vmnetFree: await new Promise<boolean>((r) => { const s = net.createServer().once("error", () => r(false)); s.listen(7070, "0.0.0.0", () => s.close(() => r(true))); }),
  logged: lines,
};
await holds.update([]);
out.held = [...out.held, `after: ${holds.held().length}`];
console.log(JSON.stringify(out));
process.exit(0);
