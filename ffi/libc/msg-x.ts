/**
 * Darwin's private datagram batching (native-facts §A 5.5; xnu bsd/sys/socket.h, PRIVATE):
 *   ssize_t recvmsg_x(int s, const struct msghdr_x *msgp, u_int cnt, int flags);  returns #datagrams
 *   ssize_t sendmsg_x(int s, const struct msghdr_x *msgp, u_int cnt, int flags);  returns #datagrams sent
 * Flags: only MSG_DONTWAIT. Opened on its own, so that a libSystem without them (the API is private)
 * only turns batching off: `msgX()` gives null and the datapath sends one datagram per call.
 */
import { FFIType, type FFIFunction } from "bun:ffi";
import { lazyLibrary } from "../load.ts";
import { OS } from "./os.ts";

const { i32, u32, ptr, i64_fast } = FFIType;

export const msgXSymbols = {
  recvmsg_x: { args: [i32, ptr, u32, i32], returns: i64_fast },
  sendmsg_x: { args: [i32, ptr, u32, i32], returns: i64_fast },
} as const satisfies Record<string, FFIFunction>;

const open = lazyLibrary({ name: "libSystem (recvmsg_x)", envVar: "VMLAN_LIBC_PATH", defaultPath: OS.libcPath, symbols: msgXSymbols });

export type MsgX = ReturnType<typeof open>;

let tried = false;
let cached: MsgX | null = null;

/** The two symbols, or null when this libSystem lacks them (or off macOS). */
export function msgX(): MsgX | null {
  if (!tried) {
    tried = true;
    try {
      cached = OS.name === "darwin" ? open() : null;
    } catch {
      cached = null;
    }
  }
  return cached;
}
