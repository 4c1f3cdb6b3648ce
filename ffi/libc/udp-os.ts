/**
 * What the DHCP server's UDP socket needs that differs per OS, selected once like ffi/libc/os.ts:
 *   Linux (<asm-generic/socket.h>, <netinet/in.h>): SOL_SOCKET 1, SO_REUSEADDR 2, SO_BROADCAST 6,
 *     SO_BINDTODEVICE 25 (bind to an interface by name), MSG_DONTWAIT 0x40, sockaddr_in {u16 family, ...};
 *   macOS (xnu bsd/sys/socket.h, bsd/netinet/in.h): SOL_SOCKET 0xffff, SO_REUSEADDR 0x0004,
 *     SO_BROADCAST 0x0020, MSG_DONTWAIT 0x80, no SO_BINDTODEVICE: IP_BOUND_IF 25 at IPPROTO_IP 0 ("int;
 *     set/get bound interface", by index), sockaddr_in {u8 sin_len = 16, u8 sin_family, ...}.
 * Port and address are in network byte order on both; AF_INET is 2 and IPPROTO_UDP 17 on both.
 */
export interface UdpOs {
  readonly SOL_SOCKET: number;
  readonly SO_REUSEADDR: number;
  readonly SO_BROADCAST: number;
  readonly MSG_DONTWAIT: number;
  /** How a socket is tied to one interface: setsockopt(level, name, value) for `ifname`/`ifindex`. */
  bindToInterface(ifname: string, ifindex: number): { level: number; name: number; value: Uint8Array };
  sockaddrIn(ip: string, port: number): Uint8Array;
}

function sockaddrIn(darwin: boolean, ip: string, port: number): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  if (darwin) {
    b[0] = 16;
    b[1] = 2;
  } else {
    v.setUint16(0, 2, true);
  }
  v.setUint16(2, port, false);
  b.set(ip.split(".").map(Number), 4);
  return b;
}

const linux: UdpOs = {
  SOL_SOCKET: 1, SO_REUSEADDR: 2, SO_BROADCAST: 6, MSG_DONTWAIT: 0x40,
  bindToInterface: (ifname) => ({ level: 1, name: 25, value: Buffer.from(`${ifname}\0`) }),
  sockaddrIn: (ip, port) => sockaddrIn(false, ip, port),
};

const darwin: UdpOs = {
  SOL_SOCKET: 0xffff, SO_REUSEADDR: 0x0004, SO_BROADCAST: 0x0020, MSG_DONTWAIT: 0x80,
  bindToInterface: (_ifname, ifindex) => ({ level: 0, name: 25, value: new Uint8Array(new Int32Array([ifindex]).buffer) }),
  sockaddrIn: (ip, port) => sockaddrIn(true, ip, port),
};

export const selectUdpOs = (platform: string): UdpOs => (platform === "darwin" ? darwin : linux);
export const UDP_OS = selectUdpOs(process.platform);
