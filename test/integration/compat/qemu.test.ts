/**
 * Real QEMU guests (TCG) on vmlan started by the peers' names, with only the peers' options, as
 * minikube-style tools and vmnet-run scripts drive them. Each guest asks for its address with DHCP
 * (busybox udhcpc in the image's vmlan.cmd), pings the gateway and powers off:
 *  - `vmnet-helper --fd 3` with a specific range (shared mode): the tool's socketpair, QEMU
 *    `-netdev dgram,local.type=fd` on the other end, the MAC from the start line; the guest gets the
 *    start line's address, inside start + 1 .. end.
 *  - `vmnet-run --operation-mode host -- qemu ... local.str=4` with QEMU's own MAC: a lease on the
 *    built-in host network for that MAC.
 * Both boot at once (about 10 s on 2 cores).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { libc } from "../../../ffi/libc/load.ts";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM } from "../../../ffi/libc/constants.ts";
import { ensureGuestImage, IMAGE_BUILD_TIMEOUT_MS, IMAGE_CACHE } from "../../support/vm.ts";
import { CompatHost, startLineOf, UUID } from "./support.ts";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { LineProc } from "../helper/proc.ts";

const qemu = Bun.which("qemu-system-x86_64", { PATH: `${process.env.PATH ?? ""}:/usr/bin` });
let image: { kernel: string; initrd: string };
let h: CompatHost;

beforeAll(async () => {
  if (!qemu) throw new Error("qemu-system-x86_64 is missing: npm test installs it (scripts/test.ts)");
  await ensureGuestImage();
  const dirs = readdirSync(IMAGE_CACHE).filter((d) => !d.startsWith(".")).map((d) => join(IMAGE_CACHE, d))
    .filter((d) => existsSync(join(d, "vmlinuz"))).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  image = { kernel: join(dirs[0]!, "vmlinuz"), initrd: join(dirs[0]!, "initrd.img") };
  h = await new CompatHost().install();
}, IMAGE_BUILD_TIMEOUT_MS);
afterAll(() => h?.stop());

/** The guest's job: DHCP on its one NIC (lease printed as DHCP-LEASE ip router), then 3 pings to the router. */
const DHCP_AND_PING = `
cat > /tmp/lease.sh <<'EOF'
#!/bin/sh
case "$1" in bound|renew) ip addr add $ip/$mask dev $interface; echo "DHCP-LEASE $ip $router";; esac
EOF
chmod +x /tmp/lease.sh
i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
ip link set eth0 up
udhcpc -i eth0 -n -q -f -t 10 -T 1 -s /tmp/lease.sh
`;

function qemuArgv(fd: number, mac: string, gateway: string): string[] {
  const cmd = Buffer.from(`${DHCP_AND_PING}\nping -c 3 ${gateway}\n`).toString("base64");
  return [qemu!, "-accel", "tcg", "-m", "256", "-nographic", "-no-reboot", "-kernel", image.kernel, "-initrd", image.initrd,
    "-append", `console=ttyS0 quiet vmlan.cmd=${cmd} vmlan.poweroff=1`,
    "-netdev", `dgram,id=n0,local.type=fd,local.str=${fd}`, "-device", `virtio-net-pci,netdev=n0,mac=${mac},romfile=`];
}

test("vmnet-helper --fd with a range, and vmnet-run in host mode: QEMU guests get DHCP leases and reach the gateway", async () => {
  // 1. As a tool drives vmnet-helper: its socketpair, the helper on one end, QEMU on the other.
  const sv = new Int32Array(2);
  expect(libc().socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv)).toBe(0);
  const helper = h.start("vmnet-helper", ["--fd", "3", "--interface-id", UUID, "--start-address", "10.76.0.1", "--end-address", "10.76.0.30", "--subnet-mask", "255.255.255.0"], [sv[1]!]);
  const line = await startLineOf(helper);
  libc().close(sv[1]!);
  const vm1 = new LineProc(["ip", "netns", "exec", h.ns.name, ...qemuArgv(3, String(line.vmnet_mac_address), "10.76.0.1")], {}, [sv[0]!]);
  h.procs.push(vm1);
  libc().close(sv[0]!);

  // 2. A vmnet-run script: QEMU with its own MAC on fd 4, the built-in host network.
  const vm2 = h.start("vmnet-run", ["--operation-mode", "host", "--", ...qemuArgv(4, "52:54:00:76:00:02", "192.168.128.1")]);

  const lease1 = (await vm1.waitFor(/^DHCP-LEASE /, { timeoutMs: 90_000 })).trim(); // the serial console ends lines with \r\n
  expect(lease1).toBe(`DHCP-LEASE ${line.vmlan_address} 10.76.0.1`);
  expect(Number(String(line.vmlan_address).split(".")[3])).toBeWithin(2, 31);
  expect(await vm1.waitFor(/packets transmitted/, { timeoutMs: 30_000 })).toContain("3 packets received");
  expect(await vm1.exited(60_000)).toBe(0);
  helper.kill("SIGTERM");
  expect(await helper.exited()).toBe(0);

  const lease2 = (await vm2.waitFor(/^DHCP-LEASE /, { timeoutMs: 90_000 })).trim();
  expect(lease2).toMatch(/^DHCP-LEASE 192\.168\.128\.\d+ 192\.168\.128\.1$/);
  expect(await vm2.waitFor(/packets transmitted/, { timeoutMs: 30_000 })).toContain("3 packets received");
  expect(await vm2.exited(60_000)).toBe(0); // vmnet-run exits with QEMU's status
  // The address DHCP gave is IPAM's for QEMU's own MAC (sticky per MAC), active or released now that the VM is gone.
  const held = JSON.parse((await h.vmlan("attachments", "host", "--all", "--format", "json")).stdout) as { mac: string; address: string }[];
  expect(held.filter((a) => a.mac === "52:54:00:76:00:02").map((a) => a.address)).toEqual([lease2.split(" ")[1]!]);
}, 240_000);
