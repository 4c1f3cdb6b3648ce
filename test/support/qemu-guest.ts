/**
 * A real QEMU guest (TCG) started by the test itself, for attachments vmlan does not launch (a switch's
 * `-netdev stream`, `socket_vmnet_client ... -netdev socket,fd=3`): vmlan's guest image, the serial
 * console on the process's stdin/stdout (src/vm/console.ts types commands in), one virtio NIC with a
 * given MAC, and no address on the kernel command line, so the guest takes its address by DHCP.
 */
import { GuestConsole } from "../../src/vm/console.ts";
import { findGuestImage } from "./vm.ts";
import { GUEST_KERNEL_WORDS } from "../../src/vm/spec.ts";

export const QEMU = Bun.which("qemu-system-x86_64", { PATH: `${process.env.PATH ?? ""}:/usr/bin` });

export class QemuGuest {
  readonly console: GuestConsole;
  readonly proc: ReturnType<typeof Bun.spawn>;

  /** `prefix` runs QEMU (e.g. `ip netns exec NS`, or socket_vmnet_client SOCKET); `netdev` is the -netdev value, id n0. */
  constructor(prefix: string[], netdev: string, readonly mac: string, env: Record<string, string> = {}) {
    const image = findGuestImage();
    if (!QEMU || !image) throw new Error("QEMU and the guest image are needed (ensureGuestImage first)");
    this.proc = Bun.spawn([...prefix, QEMU, "-accel", "tcg", "-m", "192", "-nographic", "-no-reboot",
      "-kernel", image.kernel, "-initrd", image.initrd, "-append", GUEST_KERNEL_WORDS.join(" "), // vmlan's words, no_timer_check among them
      "-netdev", netdev, "-device", `virtio-net-pci,netdev=n0,mac=${mac},romfile=`], {
      env: { ...process.env, ...env }, stdin: "pipe", stdout: "pipe", stderr: "pipe",
    });
    this.console = new GuestConsole({ stdout: this.proc.stdout as ReadableStream<Uint8Array>, stdin: this.proc.stdin as import("bun").FileSink });
  }

  /** Waits for the guest's init, then takes an address by DHCP (busybox udhcpc) and returns it. */
  async dhcp(timeoutMs: number): Promise<string> {
    await this.console.ready(timeoutMs);
    // udhcpc runs the script with the lease in its environment; the script configures eth0 and says so.
    const script = `#!/bin/sh\\n[ "$1" = bound ] && ip addr add $ip/$mask dev $interface && ip route add default via $router && echo "LEASE $ip"\\nexit 0\\n`;
    const r = await this.console.run(`printf '${script}' > /tmp/u.sh; chmod +x /tmp/u.sh; ip link set eth0 up; udhcpc -i eth0 -n -q -f -t 15 -T 1 -s /tmp/u.sh`, timeoutMs);
    const lease = r.output.map((l) => /^LEASE (\S+)/.exec(l)?.[1]).find(Boolean);
    if (!lease) throw new Error(`no DHCP lease in the guest (${this.mac}): ${r.output.join(" | ")}`);
    return lease;
  }

  /** Pings `ip` from the guest; true when an answer came back. */
  async ping(ip: string): Promise<boolean> {
    return (await this.console.run(`ping -c 2 -W 3 ${ip}`, 20_000)).code === 0;
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (this.proc.exitCode === null) this.proc.kill(signal);
  }

  async stderr(): Promise<string> {
    return Promise.race([new Response(this.proc.stderr as ReadableStream).text(), Bun.sleep(300).then(() => "")]);
  }
}
