// getifaddrs through bun:ffi (ffi/libc/ifaddrs.ts), read-only: how macOS finds vmnet's bridge by its address.
import { expect, test } from "bun:test";
import { interfaceWithAddress, ipv4Addresses } from "../../../ffi/libc/ifaddrs.ts";

test("the loopback address is on lo (Linux) or lo0 (macOS); an address nobody has is null", () => {
  expect(interfaceWithAddress("127.0.0.1")).toBe(process.platform === "darwin" ? "lo0" : "lo");
  expect(interfaceWithAddress("203.0.113.254")).toBeNull();
  expect(ipv4Addresses().every(([name, ip]) => name.length > 0 && /^\d+\.\d+\.\d+\.\d+$/.test(ip))).toBe(true);
});
