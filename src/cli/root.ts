/** The `vmlan` command itself: the command map and the help text of vmlan(1). */
import { defineCommand } from "citty";
import { commands } from "./commands/index.ts";
import { VERSION } from "../build-info.ts";

export const root = defineCommand({
  meta: {
    name: "vmlan",
    version: VERSION,
    description: "Real networks for virtual machines and containers",
    details: `Networks are resources with sticky address management: the same interface id always gets the
same address and MAC. On Linux a network is a kernel bridge with nftables rules, and vmlan serves
DHCP, DNS and router advertisements on it; on macOS it is a vmnet network.

Every command has --help (or \`vmlan help COMMAND\`) and a man page, vmlan-COMMAND(1); every command
that prints data has --format json. Changing networks needs root (CAP_NET_ADMIN) on Linux.`,
    usage: "COMMAND [OPTIONS]",
    examples: [
      "vmlan system start  # the default network (192.168.64.0/24, NAT) with DHCP and DNS",
      "vmlan network create lab --subnet 10.70.0.0/24 --mode host",
      "vmlan vm run --network lab --name web --detach",
      "vmlan help network create",
    ],
    sections: [
      {
        title: "ENVIRONMENT",
        body: `- VMLAN_STATE_DIR: where the store and daemon files live (default: /var/lib/vmlan as root on
Linux, ~/Library/Application Support/vmlan on macOS, else $XDG_STATE_HOME/vmlan). Kept 0700,
the store 0600.
- VMLAN_DEBUG=1: the stack trace after an error line (as --debug).
- VMLAN_DNS_UPSTREAM=ip[:port],...: where guests' DNS queries for other names go (default: the
nameservers of /etc/resolv.conf).
- VMLAN_BROKER_SOCKET: the broker's socket (default: <state dir>/broker.sock when VMLAN_STATE_DIR
is set, else the system broker's /run/vmlan/broker.sock; /var/run/vmlan on macOS).
- VMLAN_IMAGE_CACHE: where the built-in guest image is cached (default: <state dir>/images).
- VMLAN_DEBUG_FFI=1, VMLAN_TRACE_FFI=1: log every native library opened and call made, or time them.
- VMLAN_HELPER_TRIM=0: a helper keeps its start-up code pages mapped (default: given back, Linux).
- CNI_COMMAND (with no arguments): vmlan runs as a CNI plugin (docs/cni.md).`,
      },
      {
        title: "EXIT STATUS",
        body: `- 0: success (also "unchanged").
- 1: internal error.
- 2: bad input: a flag, a value, a configuration that differs from the existing one.
- 3: not found.
- 4: conflict: address or MAC taken, subnet overlaps, pool exhausted, attachments still active.
- 5: permission: not root or no CAP_NET_ADMIN, no /dev/net/tun.
- 6: host failure: a system call, netlink or nft failed.
- 7: store failure.

Errors are one line on stderr (\`error: ...\` naming the bad value); with --format json a JSON
object {"error":{"code","message"}}.`,
      },
      {
        title: "FILES",
        body: `- <state dir>/vmlan.db: the store (SQLite, WAL): networks and attachments.
- <state dir>/services.pid, services.log: the DHCP and DNS daemon that \`vmlan system start\` runs.
- <state dir>/vms/: records and console logs of running VMs.`,
      },
    ],
  },
  subCommands: commands,
});
