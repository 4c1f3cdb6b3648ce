/** Port specs as docker writes them: every form, every refusal with one line naming the value. */
import { describe, expect, test } from "bun:test";
import { formatPortSpec, overlaps, parsePortSpec, parsePortSpecs, shortPortSpec, specProblem } from "../../../../src/core/ports/spec.ts";
import { UsageError } from "../../../../src/core/errors.ts";

describe("parsePortSpec", () => {
  test("the forms docker and apple/container take, with 127.0.0.1 and tcp as defaults", () => {
    expect(parsePortSpec("8080:80")).toEqual({ hostIp: "127.0.0.1", hostPort: 8080, hostEnd: 8080, guestPort: 80, proto: "tcp" });
    expect(parsePortSpec("0.0.0.0:8080:80/udp")).toEqual({ hostIp: "0.0.0.0", hostPort: 8080, hostEnd: 8080, guestPort: 80, proto: "udp" });
    expect(parsePortSpec("[::1]:8080:80")).toMatchObject({ hostIp: "::1", hostPort: 8080 });
    expect(parsePortSpec("[::]:9000-9009:8000-8009/TCP")).toEqual({ hostIp: "::", hostPort: 9000, hostEnd: 9009, guestPort: 8000, proto: "tcp" });
    expect(parsePortSpec("[2001:DB8:0::5]:80:80").hostIp).toBe("2001:db8::5"); // canonical
    expect(parsePortSpec("192.168.1.20:443:8443").hostIp).toBe("192.168.1.20");
  });

  test("formats round-trip; the short form leaves the defaults out", () => {
    for (const s of ["8080:80", "0.0.0.0:1-2:3-4/udp", "[::]:53:53/udp", "[fd00::1]:8080:80"]) {
      const p = parsePortSpec(s);
      expect(parsePortSpec(formatPortSpec(p))).toEqual(p);
      expect(parsePortSpec(shortPortSpec(p))).toEqual(p);
    }
    expect(formatPortSpec(parsePortSpec("8080:80"))).toBe("127.0.0.1:8080:80/tcp");
    expect(shortPortSpec(parsePortSpec("8080:80/tcp"))).toBe("8080:80");
    expect(shortPortSpec(parsePortSpec("[::]:53:53/udp"))).toBe("[::]:53:53/udp");
  });

  const bad: [string, string][] = [
    ["", "empty"],
    ["80", "the host port is required"],
    ["8080:80/sctp", 'protocol "sctp" is not tcp or udp'],
    ["0:80", "host port 0 is out of range"],
    ["8080:65536", "guest port 65536 is out of range"],
    ["8080:8x", 'guest port "8x" is not a number'],
    ["-1:80", 'host port "" is not a number'],
    ["9000-8000:80-81", "ends before it starts"],
    ["8000-8010:80-85", "the host range has 11 port(s) and the guest range 6"],
    ["1-2000:1-2000", "2000 ports in one spec; at most 1024"],
    ["::1:8080:80", "IPv6 host addresses go in brackets"],
    ["[::1:8080:80", 'missing "]"'],
    ["[::1]8080:80", 'no ":" after "]"'],
    ["[fe80::1%eth0]:80:80", "has a zone"],
    ["[ff02::1]:80:80", "multicast"],
    ["[::ffff:10.0.0.1]:80:80", "write 10.0.0.1"],
    ["224.0.0.1:80:80", "multicast"],
    ["255.255.255.255:80:80", "broadcast"],
    ["10.0.0:80:80", "is not an IPv4 or IPv6 address"],
    [":80:80", "empty host address"],
    ["80 :80", "too long or with spaces"],
  ];
  for (const [spec, why] of bad) {
    test(`refuses ${JSON.stringify(spec)}`, () => {
      expect(() => parsePortSpec(spec, "--publish")).toThrow(UsageError);
      expect(() => parsePortSpec(spec, "--publish")).toThrow(`invalid --publish "${spec}": `);
      expect(specProblem(spec)).toStartWith("expected [HOST_IP:]HOST_PORT[-END]:GUEST_PORT[-END][/tcp|/udp] (");
      expect(specProblem(spec)).toContain(why);
    });
  }
});

describe("overlaps", () => {
  const p = (s: string) => parsePortSpec(s);
  test("same protocol, overlapping ports, the same address or a wildcard of its family", () => {
    expect(overlaps(p("8080:80"), p("8080:81"))).toBe(true);
    expect(overlaps(p("8080:80"), p("0.0.0.0:8080:80"))).toBe(true);
    expect(overlaps(p("8000-8010:80-90"), p("8010-8020:80-90"))).toBe(true);
    expect(overlaps(p("8080:80"), p("8080:80/udp"))).toBe(false);
    expect(overlaps(p("8080:80"), p("127.0.0.2:8080:80"))).toBe(false);
    expect(overlaps(p("0.0.0.0:8080:80"), p("[::]:8080:80"))).toBe(false); // IPv6 sockets are v6-only
    expect(overlaps(p("[::]:8080:80"), p("[::1]:8080:80"))).toBe(true);
    expect(overlaps(p("8000-8010:80-90"), p("8011:80"))).toBe(false);
  });

  test("a list: duplicates collapse, overlaps are refused naming both", () => {
    expect(parsePortSpecs(["8080:80", "127.0.0.1:8080:80/tcp"], "SPEC")).toHaveLength(1);
    expect(() => parsePortSpecs(["8080:80", "0.0.0.0:8080:81"], "SPEC")).toThrow('SPEC "0.0.0.0:8080:81" overlaps "127.0.0.1:8080:80/tcp" given before it');
  });
});
