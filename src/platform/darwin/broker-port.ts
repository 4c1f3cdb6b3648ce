/**
 * A VM's port on a vmnet network, run by the process that owns the network (the broker): start a
 * vmnet interface on the held network, make a socketpair(AF_UNIX, SOCK_DGRAM), forward between the
 * interface and our end in two Workers, and hand the other end out — the same shape as the Linux
 * broker's TAP fd (TapOpener), one Ethernet frame per datagram, so `vmlan helper --broker` and
 * `vmlan run --native --broker` work unchanged. This is docs/macos.md's conclusion: the owner of the
 * vmnet_network_ref starts the interfaces; no serialization crosses a process boundary.
 * The broker calls release() when the client disconnects or releases the network; the port also
 * ends when the VM's end is gone (the forwarding sees the peer closed).
 */
import { libc } from "../../../ffi/libc/load.ts";
import { startForwarding } from "../../datapath/workers.ts";
import { vmSocketpair } from "../../datapath/vm-socket.ts";
import type { HostNetworkSpec, TapPort, VmnetPortOpener } from "../types.ts";



/** The returned fd is the VM's end (the broker passes it over SCM_RIGHTS, then closes its copy). */
export function openBrokerPort(opener: VmnetPortOpener, spec: HostNetworkSpec, log: (m: string) => void = () => {}): TapPort {
  const port = opener.openVmnetPort(spec, {});
  let pair: [number, number];
  try {
    pair = vmSocketpair();
  } catch (e) {
    port.close();
    throw e;
  }
  const [mine, vmEnd] = pair;
  const { ref, mac, maxPacketSize, readMaxPackets, writeMaxPackets } = port;
  const fw = startForwarding({
    vm: { fd: mine, kind: "dgram" },
    host: { fd: port.eventFd, kind: "vmnet", vmnet: { ref, mac, maxPacketSize, readMaxPackets, writeMaxPackets } },
    maxPacketSize,
  });
  let closing: Promise<void> | undefined;
  const release = () => {
    closing ??= fw.stop().then(() => {
      port.close(); // workers are gone: nothing uses the interface_ref any more
      libc().close(mine);
    });
    return closing;
  };
  void fw.firstDone.then((d) => {
    if (d.reason === "error") log(`vmnet port ${mac} on ${spec.name}: ${d.direction}: ${d.message}`);
    void release();
  });
  return { fd: vmEnd, ifname: `vmnet:${mac}`, close: () => void release(), release };
}
