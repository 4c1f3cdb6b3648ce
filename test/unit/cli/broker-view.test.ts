// macOS 26: a one-shot command's view of a network the broker holds (src/cli/commands/network/_broker-view.ts).
import { expect, test } from "bun:test";
import { brokerView } from "../../../src/cli/commands/network/_broker-view.ts";
import { buildNetwork, parseRequest } from "../../../src/core/network-config.ts";

const net = buildNetwork(parseRequest({ name: "web", subnet: "10.86.0.0/24", subnetV6: "fd00:86::/64" }), "10.86.0.0/24", "vl-web", "now");
const down = { ...net, attachments: 0, host: { name: "web", bridge: "vl-web", up: false, addresses: [] as string[], nat: false, detail: "not held by this process" } };
const broker = (up: boolean, holders = 2) => ({ pid: 42, networks: [{ name: "web", up, holders: Array(holders).fill({}) }] });

test("a network the broker holds is up with the spec's addresses, and says who holds it", () => {
  expect(brokerView(down, broker(true)).host).toEqual({ name: "web", bridge: "vl-web", up: true, addresses: ["10.86.0.1/24", `${net.gatewayV6}/64`], nat: true, detail: "held by vmlan broker pid 42 (2 holders)" });
  expect(brokerView(down, broker(true, 1)).host!.detail).toBe("held by vmlan broker pid 42 (1 holder)");
});

test("no broker, a network it does not hold or holds down, and a view already up stay as they are", () => {
  expect(brokerView(down, null)).toBe(down);
  expect(brokerView(down, broker(false))).toBe(down);
  expect(brokerView(down, { pid: 42, networks: [] })).toBe(down);
  const up = { ...down, host: { ...down.host, up: true } };
  expect(brokerView(up, broker(true))).toBe(up);
});
