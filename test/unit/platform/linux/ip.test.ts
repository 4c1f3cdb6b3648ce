/**
 * parseAddress (src/platform/linux/ip.ts) reads the plain forms itself and leaves the rest to
 * ipaddr.js: for every form, valid or not, it answers as ipaddr.js does.
 */
import { describe, expect, test } from "bun:test";
import ipaddr from "ipaddr.js";
import { parseAddress } from "../../../../src/platform/linux/ip.ts";

/** What ipaddr.js alone makes of `s`: the bytes, or "invalid". */
function reference(s: string): number[] | "invalid" {
  return ipaddr.isValid(s) ? ipaddr.parse(s).toByteArray() : "invalid";
}
function ours(s: string): number[] | "invalid" {
  try {
    return Array.from(parseAddress(s).bytes);
  } catch (e) {
    expect((e as Error).message).toBe(`invalid IP address "${s}"`);
    return "invalid";
  }
}

// A fixed pseudo-random sequence: the same corpus on every run.
let seed = 12345;
const next = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);

describe("parseAddress", () => {
  test("random IPv4 and IPv6 addresses in every form ipaddr.js writes give ipaddr.js's bytes", () => {
    const corpus: string[] = [];
    for (let i = 0; i < 500; i++) {
      corpus.push([next(256), next(256), next(256), next(256)].join("."));
      const groups = Array.from({ length: 8 }, () => (next(3) === 0 ? 0 : next(0x10000)));
      const v6 = new ipaddr.IPv6(groups);
      corpus.push(v6.toString(), v6.toNormalizedString(), groups.map((g) => g.toString(16).padStart(4, "0")).join(":"), v6.toString().toUpperCase());
    }
    for (const s of corpus) expect({ s, bytes: ours(s) }).toEqual({ s, bytes: reference(s) });
  });

  test("edge forms and invalid strings answer as ipaddr.js does", () => {
    const edges = [
      "0.0.0.0", "255.255.255.255", "10.1.0.5", "010.1.0.5", "10.1.0.256", "10.1.0", "10.1.0.5.6", "1.2.3.04", "0x0a.0.0.1", "167772161",
      "::", "::1", "1::", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8::", "1:2:3:4:5:6:7:8:9", "1::2::3",
      ":1::", "1:::2", "fe80::1%eth0", "::ffff:10.1.0.5", "fd00::12345", "fd00::g", "FE80::5C:1", "", ":", "1.2.3.4/24", " 10.1.0.5",
    ];
    for (const s of edges) expect({ s, bytes: ours(s) }).toEqual({ s, bytes: reference(s) });
  });
});
