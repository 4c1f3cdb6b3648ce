/**
 * A VM NIC through `vmlan helper`: a socketpair(AF_UNIX, SOCK_DGRAM) whose one end QEMU gets
 * (`-netdev dgram,local.type=fd`, one Ethernet frame per datagram) and whose other end the helper
 * forwards to the host port (a TAP on the bridge on Linux; vmnet on macOS, where the other end goes to
 * Virtualization.framework's VZFileHandleNetworkDeviceAttachment). Used by both VM backends. Measured working in shared/native-facts.md §E.
 * The helper stops when the VM end closes or when its parent (the foreground `vm run`) exits.
 */
import { libc } from "../../ffi/libc/load.ts";
import { HostError } from "../core/errors.ts";
import type { NicPort } from "../vm/backend.ts";
import { vmSocketpair } from "./vm-socket.ts";
import { supervisedEnv } from "./supervised.ts";


/** Attach + TAP + two forwarding Workers take well under 1 s; 30 s covers a loaded CI machine. */
const READY_TIMEOUT_MS = 30_000;


async function firstLine(stream: ReadableStream<Uint8Array>, what: string, exited: Promise<number>): Promise<string> {
  const reader = stream.getReader();
  const dec = new TextDecoder();
  let text = "";
  // unref: a pending timer that lost the race must not keep `vm run` alive after the VM ends.
  const timeout = new Promise<null>((r) => setTimeout(() => r(null), READY_TIMEOUT_MS).unref());
  while (!text.includes("\n")) {
    const r = await Promise.race([reader.read(), timeout]);
    if (!r) throw new HostError(`${what} printed no start line within ${READY_TIMEOUT_MS / 1000} s`);
    if (r.done) throw new HostError(`${what} exited (status ${await exited}) before it was ready`);
    text += dec.decode(r.value, { stream: true });
  }
  reader.releaseLock();
  return text.slice(0, text.indexOf("\n"));
}

/** Starts `vmlan helper --fd 3` on a fresh socketpair; the returned fd is the VM's end. */
export async function openHelperNic(o: { self: string[]; network: string; id: string }): Promise<NicPort> {
  const [vmEnd, helperEnd] = vmSocketpair();
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    libc().close(vmEnd);
    libc().close(helperEnd);
  };
  // --keep: the lease is vm run's to release (sticky), not the helper's.
  const argv = [...o.self, "helper", "--fd", "3", "--network", o.network, "--id", o.id, "--keep"];
  // stderr inherited: the helper's errors reach the user; its routine stop (vm run stops it) is not logged.
  const proc = Bun.spawn(argv, { stdio: ["ignore", "pipe", "inherit", helperEnd], env: supervisedEnv() });
  try {
    const line = JSON.parse(await firstLine(proc.stdout as ReadableStream<Uint8Array>, `vmlan helper for network "${o.network}"`, proc.exited)) as { vmlan_tap?: string; vmnet_mtu?: number };
    const mtu = typeof line.vmnet_mtu === "number" ? { mtu: line.vmnet_mtu } : {};
    return { kind: "dgram", fd: vmEnd, ifname: line.vmlan_tap ?? "", helperPid: proc.pid, helperExited: proc.exited, close, ...mtu };
  } catch (e) {
    proc.kill("SIGTERM");
    close();
    throw e;
  }
}
