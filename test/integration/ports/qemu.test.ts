/**
 * A real QEMU guest (TCG) with a published port: `vmlan vm run -p 8080:80` on a network in a test
 * namespace, busybox httpd in vmlan's guest image, reached from the host's 127.0.0.1:8080 through
 * the kernel's DNAT; `vmlan vm stop` takes the port down with the VM.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { BOOT_TIMEOUT_MS, ensureGuestImage, IMAGE_BUILD_TIMEOUT_MS, IMAGE_CACHE } from "../../support/vm.ts";
import { dnatRules, get, nftTable, PortsHost, until, WAN } from "./support.ts";

let h: PortsHost;
const name = `p${randomBytes(2).toString("hex")}`;

beforeAll(async () => {
  await ensureGuestImage();
  h = new PortsHost();
  h.env.VMLAN_IMAGE_CACHE = IMAGE_CACHE;
  await h.ok("system", "start");
  await h.ok("network", "create", "qpub", "--subnet", "10.95.0.0/24");
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await h?.vmlan("vm", "stop", name).catch(() => {});
  await h?.close();
}, 30_000);

test("vm run -p 8080:80: busybox httpd in the guest answers on the host's 127.0.0.1:8080, until vm stop", async () => {
  const r = await h.vmlan("vm", "run", "--network", "qpub", "--name", name, "--detach", "-p", "8080:80", "-p", "0.0.0.0:8081:80",
    "--exec", "mkdir -p /www && echo hello from $(hostname) > /www/index.html && httpd -p 80 -h /www");
  expect(r.exitCode).toBe(0);
  await until(() => get(h.ns, "http://127.0.0.1:8080/", 1) !== null, "the guest's httpd through 127.0.0.1:8080", BOOT_TIMEOUT_MS);
  expect(get(h.ns, "http://127.0.0.1:8080/")).toBe(`hello from ${name}`);
  expect(get(h.up, `http://${WAN.host}:8081/`)).toBe(`hello from ${name}`);
  const ls = await h.json<{ id: string; state: string; spec: string }[]>("port", "ls", "qpub");
  expect(ls.map((p) => [p.id, p.spec, p.state])).toEqual([[name, "127.0.0.1:8080:80/tcp", "active"], [name, "0.0.0.0:8081:80/tcp", "active"]]);
  await h.ok("vm", "stop", name);
  expect(dnatRules(h.ns, nftTable(h.ns, "vl-qpub"))).toEqual([]);
  expect(get(h.ns, "http://127.0.0.1:8080/", 1)).toBeNull();
  expect((await h.json<{ state: string }[]>("port", "ls", "qpub")).map((p) => p.state)).toEqual(["inactive", "inactive"]);
}, BOOT_TIMEOUT_MS + 30_000);
