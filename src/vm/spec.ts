/** A VM as vmlan starts it: the validated request, its NICs (one lease each) and its kernel command line. */
import * as v from "valibot";
import { Hostname, NetworkName } from "../core/resources/names.ts";
import { UsageError } from "../core/errors.ts";
import { issueText } from "../core/issues.ts";
import type { Attachment } from "../core/resources/attachment.ts";

/** TCG needs no more: the busybox guest boots in 256 MiB (measured: about 40 MiB used). */
export const DEFAULT_MEMORY_MB = 256;
export const DEFAULT_CPUS = 1;
/** QEMU's q35 machine takes up to 288; 64 is far above what TCG can use on a shared host. */
export const MAX_CPUS = 64;
/** 64 MiB is the smallest the guest image boots in; 1 TiB is QEMU's practical ceiling on x86-64 hosts here. */
export const MIN_MEMORY_MB = 64;
export const MAX_MEMORY_MB = 1 << 20;

export const VmRequest = v.object({
  /** Also the lease id on every network and the guest's hostname, so it must be a host label. */
  name: Hostname,
  networks: v.pipe(v.array(NetworkName), v.minLength(1, "give at least one --network")),
  cpus: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_CPUS)),
  memoryMb: v.pipe(v.number(), v.integer(), v.minValue(MIN_MEMORY_MB), v.maxValue(MAX_MEMORY_MB)),
  kernel: v.optional(v.string()),
  initrd: v.optional(v.string()),
  cmdline: v.optional(v.string()),
  disk: v.optional(v.string()),
  /** A shell command the vmlan guest image runs once the network is up (vmlan.cmd). */
  exec: v.optional(v.string()),
  poweroff: v.optional(v.boolean()),
  /** "-" = this process's stdio (foreground only), else a file path. */
  console: v.optional(v.string()),
  detach: v.optional(v.boolean()),
  /** No anti-spoofing rules on the VM's ports (stored with its attachments); absent: as stored. */
  allowSpoofing: v.optional(v.boolean()),
  /** helper: `vmlan helper` per NIC on a socketpair; native: a TAP fd straight to QEMU. */
  attachment: v.optional(v.picklist(["native", "helper"]), "native"),
});
export type VmRequest = v.InferOutput<typeof VmRequest>;

export function parseVmRequest(input: unknown): VmRequest {
  const r = v.safeParse(VmRequest, input);
  if (!r.success) throw new UsageError(issueText(r.issues[0]));
  const req = r.output;
  if (new Set(req.networks).size !== req.networks.length) throw new UsageError("each --network may be given once");
  if (req.detach && req.console === "-") throw new UsageError("--console - needs the foreground; give a file with --detach");
  if (req.initrd && !req.kernel) throw new UsageError("--initrd needs --kernel");
  return req;
}

export interface VmNic {
  network: string;
  bridge: string;
  mac: string;
  /** null on a bridged network: the guest takes its address from the LAN's DHCP server (vmlan.net=MAC,dhcp). */
  address: string | null;
  prefixLength: number | null;
  gateway: string | null;
  /** Host-side interface (TAP) while running. */
  ifname?: string;
}

export function nicFrom(a: Attachment, bridge: string): VmNic {
  return { network: a.network, bridge, mac: a.mac, address: a.address, prefixLength: a.prefixLength, gateway: a.gateway };
}

const netmask = (prefix: number) => [24, 16, 8, 0].map((s) => ((prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0) >>> s) & 255).join(".");

/**
 * The guest's kernel command line. `ip=` (Documentation/admin-guide/nfs/nfsroot.rst) configures the
 * first NIC in kernels with built-in virtio-net and IP autoconfiguration; Debian's cloud kernel has
 * neither, so vmlan's /init reads `vmlan.net=MAC,ADDR/PREFIX[,GW]` per NIC (src/vm/guest-init.ts),
 * or `vmlan.net=MAC,dhcp` for a NIC on a bridged network, whose address only the LAN's DHCP server knows.
 */
/**
 * Words every vmlan guest kernel gets. `no_timer_check`: under TCG on a busy host the kernel's boot
 * check that the IO-APIC timer ticks (arch/x86/kernel/apic/io_apic.c check_timer) can miss its window
 * and panic ("IO-APIC + timer doesn't work!"), seen here with 8 sessions on 2 cores; virtual machines
 * commonly skip it (Fedora's and Debian's cloud images do).
 */
export const GUEST_KERNEL_WORDS = ["console=ttyS0", "quiet", "loglevel=1", "panic=-1", "no_timer_check"] as const;

export function guestCmdline(req: Pick<VmRequest, "name" | "cmdline" | "exec" | "poweroff">, nics: VmNic[]): string {
  const words: string[] = [...GUEST_KERNEL_WORDS];
  const first = nics[0];
  if (first?.address) words.push(`ip=${first.address}::${first.gateway}:${netmask(first.prefixLength!)}:${req.name}:eth0:off`);
  words.push(`vmlan.hostname=${req.name}`);
  nics.forEach((n, i) => words.push(`vmlan.net=${n.mac},${n.address ? `${n.address}/${n.prefixLength}${i === 0 ? `,${n.gateway}` : ""}` : "dhcp"}`));
  if (req.exec) words.push(`vmlan.cmd=${Buffer.from(req.exec).toString("base64")}`);
  if (req.poweroff) words.push("vmlan.poweroff=1");
  if (req.cmdline) words.push(req.cmdline);
  const line = words.join(" ");
  // x86 COMMAND_LINE_SIZE is 2048 including the NUL.
  if (line.length > 2047) throw new UsageError(`the kernel command line is ${line.length} bytes, over the 2047 the kernel takes; shorten --exec or --cmdline`);
  return line;
}
