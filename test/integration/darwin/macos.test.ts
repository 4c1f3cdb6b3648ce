/**
 * The darwin code against the REAL vmnet.framework. Runs only on macOS, through scripts/verify-macos.sh
 * (which builds the trampolines, signs a copy of bun with shims/entitlements.plist and sets
 * VMLAN_VMNET_SHIM_PATH). Skipped everywhere else; on Linux the same code runs against the double
 * (vmnet.test.ts). Prints what it learns (the serialization question of docs/macos.md) as "finding:".
 *   classic interface: macOS < 26 needs root; 26+ needs the entitlement.
 *   networks: macOS 26+.
 */
import { describe, expect, test } from "bun:test";
import { CString } from "bun:ffi";
import { vmnetShim } from "../../../ffi/vmnet/load.ts";
import { FrameBatch } from "../../../src/datapath/port.ts";
import { NotPlainDataError, VmnetNetwork } from "../../../src/platform/darwin/network.ts";
import { VmnetInterface } from "../../../src/platform/darwin/vmnet-interface.ts";
import { VmnetPort } from "../../../src/platform/darwin/vmnet-port.ts";
import * as F from "../../support/frames.ts";

const onMac = process.platform === "darwin";
const macos = onMac ? Number(Bun.spawnSync(["sw_vers", "-productVersion"]).stdout.toString().split(".")[0]) : 0;
const root = process.getuid?.() === 0;
const finding = (s: string) => console.log(`finding: ${s}`);

/** ARP for the gateway from the interface's own MAC; true when vmnet's host side answers. */
function arpGateway(iface: VmnetInterface, gateway: string, myIp: string): boolean {
  const port = new VmnetPort(iface, 32);
  const batch = new FrameBatch(port.size, iface.maxPacketSize + 1);
  const me = F.parseMac(iface.macAddress);
  const gw = F.parseIpv4(gateway);
  const req = F.ethernet(F.BROADCAST, me, F.ETH_P_ARP, F.arp({ op: F.ARP_REQUEST, sha: me, spa: F.parseIpv4(myIp), tha: new Uint8Array(6), tpa: gw }));
  batch.slots[0]!.set(req);
  batch.lens[0] = req.length;
  expect(port.send(batch, 1)).toBe(1);
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    const n = port.recv(batch, 200); // waits on the event pipe the trampoline's callback block feeds
    if (n < 0) throw port.lastError;
    for (let i = 0; i < n; i++) {
      const e = F.parseEthernet(batch.slots[i]!.subarray(0, batch.lens[i]!));
      const a = e?.type === F.ETH_P_ARP ? F.parseArp(e.payload) : null;
      if (a?.op === F.ARP_REPLY && F.eq(a.spa, gw)) return true;
    }
  }
  return false;
}

test.skipIf(!onMac)("real vmnet: key variables hold the documented strings", () => {
  const keys = ["operation_mode", "interface_id", "mac_address", "mtu", "max_packet_size", "estimated_packets_available",
    "start_address", "end_address", "subnet_mask", "shared_interface_name", "nat66_prefix", "enable_tso",
    "enable_checksum_offload", "enable_isolation", "allocate_mac_address", "read_max_packets", "write_max_packets"];
  const got = Object.fromEntries(keys.map((k) => {
    const p = vmnetShim().vmlan_key(Buffer.from(`vmnet_${k}_key\0`));
    return [k, p ? new CString(p).toString() : null];
  }));
  finding(`key strings ${JSON.stringify(got)}`);
  // Verified on macOS 15 by third parties (native-facts §A 5.3); the rest are printed above.
  for (const k of ["operation_mode", "interface_id", "mac_address", "mtu", "max_packet_size", "start_address", "subnet_mask"]) {
    expect(got[k]).toBe(`vmnet_${k}`);
  }
});

describe.skipIf(!onMac || (macos < 26 && !root))("real vmnet: classic interface", () => {
  test("start shared → interface_param → ARP the gateway through vmnet_write/vmnet_read → stop", () => {
    const iface = VmnetInterface.start({ mode: "shared", interfaceId: "2835E074-9892-4A79-AFFB-7E41D2605678", isolation: false });
    try {
      finding(`interface_param ${JSON.stringify(iface.params)}`);
      expect(iface.params).toHaveProperty("vmnet_mac_address");
      expect(iface.maxPacketSize).toBe(1514);
      const start = String(iface.params.vmnet_start_address);
      const end = String(iface.params.vmnet_end_address);
      expect(arpGateway(iface, start, end)).toBe(true);
    } finally {
      iface.stop();
    }
  });
});

describe.skipIf(!onMac || macos < 26)("real vmnet: macOS 26 networks", () => {
  const spec = {
    name: "verify", bridge: "unused", mode: "shared" as const, subnet: "192.168.231.0/24", gateway: "192.168.231.1",
    subnetV6: "fd00:231::/64", gatewayV6: "fd00:231::1", mtu: 1500,
  };

  test("create → info is the gateway-style subnet; serialization: plain data or XPC-only?", () => {
    const net = VmnetNetwork.create(spec);
    try {
      const info = net.info();
      finding(`network info ${JSON.stringify(info)}`);
      expect(info.subnet).toBe("192.168.231.0/24");
      let bytes: Uint8Array | null = null;
      try {
        bytes = net.serialize();
        finding(`serialization is plain data (${bytes.length} bytes)`);
      } catch (e) {
        if (!(e instanceof NotPlainDataError)) throw e;
        finding("serialization carries Mach rights: only XPC can move it");
      }
      if (bytes) {
        const copy = VmnetNetwork.fromSerialization(bytes);
        expect(copy.info()).toEqual(info);
        copy.release();
        // Across processes: a child (this same signed bun) recreates the network from the bytes.
        const child = Bun.spawnSync([process.execPath, new URL("./macos-child.ts", import.meta.url).pathname, Buffer.from(bytes).toString("hex")], {
          env: process.env, stdout: "pipe", stderr: "pipe",
        });
        finding(`another process recreating it: exit ${child.exitCode} ${child.stdout.toString().trim()} ${child.stderr.toString().trim()}`);
      }
    } finally {
      net.release();
    }
  });

  test("start_with_network → net_* keys → ARP the gateway", () => {
    const net = VmnetNetwork.create(spec);
    const iface = VmnetInterface.startOnNetwork(net.unsafeRef);
    try {
      finding(`interface_param with network ${JSON.stringify(iface.params)}`);
      expect(iface.params.net_ipv4_subnet).toBe("192.168.231.1");
      expect(arpGateway(iface, "192.168.231.1", "192.168.231.77")).toBe(true);
    } finally {
      iface.stop();
      net.release();
    }
  });
});
