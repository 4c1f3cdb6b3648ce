// Reading and validating apply files: every refusal names the file, the key path and the bad value.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parseApplyText, readApplyFile, detectFormat, ApplyFileError } from "../../../../src/core/apply/file.ts";
import { keyPath } from "../../../../src/core/apply/schema.ts";
import { UsageError } from "../../../../src/core/errors.ts";

const FIXTURES = join(import.meta.dir, "../../../fixtures/apply");

/** The problems of a refused file as "path: message" lines. */
function problems(text: string, file = "f.toml"): string[] {
  try {
    parseApplyText(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ApplyFileError);
    expect((e as ApplyFileError).exitCode).toBe(2);
    return (e as ApplyFileError).problems.map((p) => `${p.path}: ${p.message}`);
  }
  throw new Error("file was accepted");
}

const net = (body: string) => `[[networks]]\nname = "n"\nsubnet = "10.1.0.0/24"\n${body}`;

describe("formats", () => {
  test("TOML and JSON fixtures parse to the same shape, defaults filled in", async () => {
    const toml = await readApplyFile(join(FIXTURES, "sample.toml"));
    expect(toml.networks.map((n) => n.name)).toEqual(["lab", "isolated"]);
    expect(toml.networks[0]).toMatchObject({ mode: "shared", subnet: "10.91.0.0/24", subnet_v6: "fd00:91::/64", mtu: 1400, labels: { team: "net", "env.kind": "test" } });
    expect(toml.networks[1]).toMatchObject({ mode: "host", labels: {}, attachments: [{ id: "builder" }] });
    const json = await readApplyFile(join(FIXTURES, "sample.json"));
    expect(json.networks[0]).toMatchObject({ name: "jnet", mode: "host", attachments: [{ id: "vm-a", ip: "10.93.0.7" }] });
  });

  test("JSON is chosen by the .json extension or by content starting with '{'", () => {
    expect(detectFormat("x.JSON", "a = 1")).toBe("json");
    expect(detectFormat("x.conf", "  \n{\"networks\": []}")).toBe("json");
    expect(detectFormat("x.toml", "networks = []")).toBe("toml");
    expect(parseApplyText(`{"networks": []}`, "<stdin>").networks).toEqual([]);
  });

  test("values are normalised: MAC lower-case with colons, IPv6 prefix canonical", () => {
    const doc = parseApplyText(net(`subnet_v6 = "FD00:0001:0::/64"\n[[networks.attachments]]\nid = "a"\nmac = "52-54-00-AB-CD-EF"\n`), "f.toml");
    expect(doc.networks[0]!.subnet_v6).toBe("fd00:1::/64");
    expect(doc.networks[0]!.attachments[0]!.mac).toBe("52:54:00:ab:cd:ef");
  });

  test("a missing file and a syntax error are usage errors naming the file", async () => {
    await expect(readApplyFile(join(FIXTURES, "nope.toml"))).rejects.toThrow(/cannot read apply file .*nope\.toml: no such file/);
    expect(problems("[[networks]\nname = 1", "x.toml")).toEqual([expect.stringMatching(/^\(syntax\): not valid TOML: /)]);
    expect(problems(`{"networks": [`, "x.json")).toEqual([expect.stringMatching(/^\(syntax\): not valid JSON: /)]);
  });
});

describe("schema: strict objects, values named", () => {
  test("the bad fixture: every schema problem in one report, with key paths", async () => {
    const err = await readApplyFile(join(FIXTURES, "bad.toml")).catch((e) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect([err.message, ...err.lines.map((l: string) => `  ${l}`)]).toEqual([
      `${join(FIXTURES, "bad.toml")}: 4 problems; nothing was changed`,
      `  networks[0].attachments[0].ip: invalid IP address "10.94.0.300": expected IPv4 like 192.168.70.10`,
      `  networks[0].colour: unknown key "colour"`,
      `  networks[1].subnet: invalid subnet "10.94.1.0/33": prefix length 33 is over 32`,
      `  networks[1].mtu: expected number, got "big"`,
    ]);
    expect(err.details.problems).toHaveLength(4);
  });

  test("unknown keys at every level, missing name, bad mode, label and version", () => {
    expect(problems(`colour = 1\nnetworks = []`)).toEqual([`colour: unknown key "colour"`]);
    expect(problems(net(`[[networks.attachments]]\nid = "a"\naddress = "10.1.0.5"\n`))).toEqual([`networks[0].attachments[0].address: unknown key "address"`]);
    expect(problems(`[[networks]]\nsubnet = "10.1.0.0/24"\nmode = "routed"\n`)).toEqual([
      `networks[0].name: missing required key "name"`,
      `networks[0].mode: invalid mode "routed": use shared, host or bridged`,
    ]);
    expect(problems(net(`labels = { "bad key" = "1" }\n`))).toEqual([`networks[0].labels["bad key"]: invalid label key "bad key"`]);
    expect(problems(`version = 2\n`)).toEqual([`version: unsupported version 2: this vmlan reads version 1`]);
    expect(problems(net(`mtu = 100\n`))).toEqual([`networks[0].mtu: invalid MTU 100: expected 576 to 65535`]);
    expect(problems(net(`dhcp = "yes"\ndns_domain = "Bad_Domain"\n`))).toEqual([
      `networks[0].dhcp: expected boolean, got "yes"`,
      `networks[0].dns_domain: invalid DNS domain "Bad_Domain": use lowercase labels of letters, digits and '-' separated by dots, e.g. lab.example`,
    ]);
  });

  test("bad CIDRs name the value", () => {
    expect(problems(`[[networks]]\nname = "n"\nsubnet = "10.1.0.1/24"\n`)).toEqual([`networks[0].subnet: invalid subnet "10.1.0.1/24": host bits are set; did you mean 10.1.0.0/24?`]);
    expect(problems(net(`subnet_v6 = "fd00::/96"\n`))[0]).toStartWith(`networks[0].subnet_v6: invalid IPv6 prefix "fd00::/96"`);
    expect(problems(net(`[[networks.attachments]]\nid = "a"\nmac = "01:00:5e:00:00:01"\n`))[0]).toStartWith(`networks[0].attachments[0].mac: invalid MAC address "01:00:5e:00:00:01": it is a multicast address`);
  });
});

describe("checks across entries", () => {
  test("duplicate network names and the built-in name", () => {
    const text = `[[networks]]\nname = "a"\n[[networks]]\nname = "b"\n[[networks]]\nname = "a"\n[[networks]]\nname = "default"\n`;
    expect(problems(text)).toEqual([
      `networks[2].name: duplicate network name "a" (also networks[0])`,
      `networks[3].name: "default" is the built-in network; apply does not manage it`,
    ]);
  });

  test("overlapping subnets within the file, v4 and v6 separately", () => {
    const text = `[[networks]]\nname = "a"\nsubnet = "10.5.0.0/24"\nsubnet_v6 = "fd00:5::/64"\n[[networks]]\nname = "b"\nsubnet = "10.5.0.0/16"\n[[networks]]\nname = "c"\nsubnet = "10.6.0.0/24"\nsubnet_v6 = "fd00:5::/48"\n`;
    expect(problems(text)).toEqual([
      `networks[1].subnet: subnet 10.5.0.0/16 overlaps networks[0] "a" (10.5.0.0/24)`,
      `networks[2].subnet_v6: IPv6 prefix fd00:5::/48 overlaps networks[0] "a" (fd00:5::/64)`,
    ]);
  });

  test("fixed IPs: outside the subnet, network/broadcast/gateway address, no subnet to check against", () => {
    const ips = ["10.9.0.5", "10.1.0.0", "10.1.0.255", "10.1.0.1"].map((ip, i) => `[[networks.attachments]]\nid = "a${i}"\nip = "${ip}"\n`).join("");
    expect(problems(net(ips))).toEqual([
      `networks[0].attachments[0].ip: IP address 10.9.0.5 is outside the subnet 10.1.0.0/24 of "n"`,
      `networks[0].attachments[1].ip: IP address 10.1.0.0 is the network address of 10.1.0.0/24`,
      `networks[0].attachments[2].ip: IP address 10.1.0.255 is the broadcast address of 10.1.0.0/24`,
      `networks[0].attachments[3].ip: IP address 10.1.0.1 is the gateway of "n"`,
    ]);
    expect(problems(`[[networks]]\nname = "auto"\n[[networks.attachments]]\nid = "a"\nip = "10.1.0.5"\n`)).toEqual([
      `networks[0].attachments[0].ip: fixed IP 10.1.0.5 needs the network's subnet in the file`,
    ]);
  });

  test("duplicate attachment ids, IPs, MACs and hostnames on one network; the same id on two networks is fine", () => {
    const a = (id: string, extra = "") => `[[networks.attachments]]\nid = "${id}"\n${extra}`;
    const text = net(a("x", `ip = "10.1.0.5"\nmac = "52:54:00:00:00:01"\nhostname = "h"\n`) + a("x") + a("y", `ip = "10.1.0.5"\n`) + a("z", `mac = "52:54:00:00:00:01"\nhostname = "h"\n`))
      + `[[networks]]\nname = "m"\n` + a("x");
    expect(problems(text)).toEqual([
      `networks[0].attachments[1].id: duplicate id "x" on network "n" (also attachments[0])`,
      `networks[0].attachments[2].ip: duplicate IP address "10.1.0.5" on network "n" (also attachments[0])`,
      `networks[0].attachments[3].mac: duplicate MAC address "52:54:00:00:00:01" on network "n" (also attachments[0])`,
      `networks[0].attachments[3].hostname: duplicate hostname "h" on network "n" (also attachments[0])`,
    ]);
  });

  test("reserved hostnames (gateway, localhost, the network's own names) are file errors, in any case", () => {
    const a = (id: string, h: string) => `[[networks.attachments]]\nid = "${id}"\nhostname = "${h}"\n`;
    expect(problems(net(a("a", "Gateway") + a("b", "n") + a("c", "web")))).toEqual([
      `networks[0].attachments[0].hostname: hostname "Gateway" is reserved on network "n" (gateway, localhost, wpad, isatap, vmlan and the network's own names)`,
      `networks[0].attachments[1].hostname: hostname "n" is reserved on network "n" (gateway, localhost, wpad, isatap, vmlan and the network's own names)`,
    ]);
  });

  test("the managed label cannot be set by hand", () => {
    expect(problems(net(`labels = { "vmlan.managed-by" = "me" }\n`))).toEqual([`networks[0].labels["vmlan.managed-by"]: label "vmlan.managed-by" is set by apply itself; remove it from the file`]);
  });

  test("bridged networks: an uplink each (not shared), no vmlan services, no fixed IPs; other modes take no uplink", () => {
    const b = (name: string, body: string) => `[[networks]]\nname = "${name}"\nmode = "bridged"\n${body}`;
    expect(problems(b("a", "") + b("b", `uplink = "up0"\ndhcp = true\n`) + b("c", `uplink = "up1"\n`) + b("d", `uplink = "up1"\n[[networks.attachments]]\nid = "x"\nip = "10.1.0.5"\n`) + net(`uplink = "up9"\n`))).toEqual([
      `networks[0].mode: a bridged network needs an uplink: --uplink IF names the host interface to bridge`,
      `networks[1].uplink: vmlan's DHCP cannot serve a bridged network: it would answer every host on the LAN of up0; the LAN's DHCP server serves the guests`,
      `networks[3].uplink: uplink up1 is also the uplink of networks[2] "c"`,
      `networks[3].attachments[0].ip: fixed IP 10.1.0.5 on bridged network "d": the LAN's DHCP server assigns the addresses there`,
      `networks[4].uplink: uplink "up9" is only for bridged networks (this one is shared); add --mode bridged`,
    ]);
    expect(parseApplyText(b("ok", `uplink = "eno1"\nsubnet = "192.168.1.0/24"\n`), "f.toml").networks[0]).toMatchObject({ mode: "bridged", uplink: "eno1" });
  });

  test("one problem reads as one line naming the file", () => {
    const err = (() => {
      try {
        parseApplyText(net(`mtu = 9\n`), "lab.toml");
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message).toBe(`lab.toml: networks[0].mtu: invalid MTU 9: expected 576 to 65535`);
  });
});

test("keyPath", () => {
  expect(keyPath(["networks", 1, "subnet"])).toBe("networks[1].subnet");
  expect(keyPath(["networks", 0, "labels", "a.b"])).toBe(`networks[0].labels["a.b"]`);
  expect(keyPath([])).toBe("(top level)");
});
