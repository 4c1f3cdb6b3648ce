/**
 * A small netlink client: one AF_NETLINK socket (NETLINK_ROUTE unless told otherwise), request/ack
 * with sequence numbers, dumps (multipart until NLMSG_DONE), and several requests in one datagram
 * (an nf_tables batch). Blocking and synchronous: the kernel answers rtnetlink and nfnetlink
 * requests inline, so a reply is already queued when send() returns.
 */
import { AF_NETLINK, MSG_DONTWAIT, MSG_TRUNC, NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK, SOCK_CLOEXEC, SOCK_RAW, SOL_NETLINK } from "../../../ffi/libc/constants.ts";
import { libc } from "../../../ffi/libc/load.ts";
import { sockaddr_nl } from "../../../ffi/libc/structs.ts";
import { alloc, write } from "../../../ffi/layout.ts";
import { check, EAGAIN, EINTR, errno, retryEintr, syscallError } from "../../../ffi/errno.ts";
import {
  NETLINK_ROUTE, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR,
} from "../../../ffi/netlink/constants.ts";
import { concat, message, type NlMessage, parseError, parseMessages } from "../../../ffi/netlink/encode.ts";
import { HostError, SyscallError } from "../../core/errors.ts";

/** 64 KiB: larger than any single dump skb the kernel builds (it caps them at 32 KiB). */
const RECV_BUF = 64 * 1024;
/** Dumps interrupted by concurrent changes (NLM_F_DUMP_INTR) are retried this often, as iproute2 and CNI do. */
const DUMP_RETRIES = 5;

export class Netlink {
  #fd: number;
  #seq = Math.floor(Date.now() / 1000) & 0xffff;
  readonly #ab = new ArrayBuffer(RECV_BUF);
  readonly #buf = new Uint8Array(this.#ab);

  private constructor(fd: number) {
    this.#fd = fd;
  }

  static open(protocol = NETLINK_ROUTE): Netlink {
    const c = libc();
    const fd = check("socket", c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol), "AF_NETLINK");
    const nl = new Netlink(fd);
    try {
      // Extended acks give the kernel's reason text ("Unknown device type"); older kernels ignore it.
      const one = new Int32Array([1]);
      c.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, one, 4);
      // Strict dumps: the kernel filters an address dump by ifa_index instead of sending every
      // address of every interface (one bridge's addresses, not N bridges', at system start).
      // Older kernels refuse the option and send everything, which callers filter anyway.
      c.setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, one, 4);
      const { bytes, view } = alloc(sockaddr_nl);
      write(sockaddr_nl, view, "nl_family", AF_NETLINK);
      check("bind", c.bind(fd, bytes, sockaddr_nl.size), "AF_NETLINK");
    } catch (e) {
      nl.close();
      throw e;
    }
    return nl;
  }

  /**
   * Sends one request with NLM_F_ACK and returns the replies that came before the ack.
   * A negative ack becomes a SyscallError named after `what` (e.g. "RTM_NEWLINK") and `subject`.
   */
  request(type: number, flags: number, parts: readonly Uint8Array[], what: string, subject?: string): NlMessage[] {
    const seq = this.#send(type, NLM_F_REQUEST | NLM_F_ACK | flags, parts, what, subject);
    const replies: NlMessage[] = [];
    for (;;) {
      for (const m of this.#recv(what, subject)) {
        if (m.seq !== seq) continue; // a stale reply to an earlier, abandoned request
        if (m.type !== NLMSG_ERROR) {
          replies.push(m);
          continue;
        }
        const { errno, text } = parseError(m);
        if (errno !== 0) throw withText(syscallError(what, errno, subject), text);
        return replies;
      }
    }
  }

  /**
   * Several requests in one datagram, each with NLM_F_ACK: the kernel runs them in order and answers
   * each, whether one before it failed or not. Returns each one's error (null: done), in order. One
   * send and the acks read back instead of a round trip each (a container's addresses, up, routes).
   */
  requestEach(reqs: readonly NlRequest[]): Array<SyscallError | null> {
    if (this.#fd < 0) throw new HostError("netlink socket used after close");
    const first = this.nextSeq;
    const msgs = reqs.map((r, i) => message(r.type, NLM_F_REQUEST | NLM_F_ACK | r.flags, (first + i) >>> 0, r.parts));
    this.#seq = (first + reqs.length - 1) >>> 0;
    const datagram = msgs.length === 1 ? msgs[0]! : concat(msgs);
    const what = reqs.map((r) => r.what).join("+");
    const n = retryEintr("send", () => Number(libc().send(this.#fd, datagram, datagram.length, 0)), what);
    if (n !== datagram.length) throw new HostError(`netlink send of ${what} was short (${n} of ${datagram.length} bytes)`);
    const out: Array<SyscallError | null | undefined> = reqs.map(() => undefined);
    let left = reqs.length;
    while (left > 0) {
      for (const m of this.#recv(what)) {
        const i = (m.seq - first) >>> 0;
        if (m.type !== NLMSG_ERROR || i >= reqs.length || out[i] !== undefined) continue; // not an ack to these
        const { errno: e, text } = parseError(m);
        out[i] = e === 0 ? null : withText(syscallError(reqs[i]!.what, e, reqs[i]!.subject), text);
        left--;
      }
    }
    return out as Array<SyscallError | null>;
  }

  /** Dumps (NLM_F_DUMP) and returns every message up to NLMSG_DONE, retrying interrupted dumps. */
  dump(type: number, parts: readonly Uint8Array[], what: string): NlMessage[] {
    for (let attempt = 0; ; attempt++) {
      const seq = this.#send(type, NLM_F_REQUEST | NLM_F_DUMP, parts, what);
      const out: NlMessage[] = [];
      let interrupted = false;
      let done = false;
      while (!done) {
        for (const m of this.#recv(what)) {
          if (m.seq !== seq) continue;
          if (m.flags & NLM_F_DUMP_INTR) interrupted = true;
          if (m.type === NLMSG_DONE) done = true;
          else if (m.type === NLMSG_ERROR) {
            const { errno, text } = parseError(m);
            throw withText(syscallError(what, errno), text);
          } else out.push(m);
        }
      }
      if (!interrupted) return out;
      if (attempt >= DUMP_RETRIES) throw new HostError(`${what} dump kept changing under us (${DUMP_RETRIES} retries)`);
    }
  }

  /** The sequence number the next message sent will carry (a caller that writes its own datagram: sendMany). */
  get nextSeq(): number {
    return (this.#seq + 1) >>> 0;
  }

  /**
   * Sends `count` messages written by the caller in one datagram (an nf_tables batch must be one),
   * numbered from `nextSeq`, and waits for the reply to each of `acked` (those flagged NLM_F_ACK);
   * throws the first negative one about any of them. The replies are read without blocking: the
   * kernel has queued them all when send() returns, and a message it refused whole gets no reply.
   */
  sendMany(datagram: Uint8Array, count: number, acked: readonly number[], what: string): void {
    if (this.#fd < 0) throw new HostError("netlink socket used after close");
    const first = this.nextSeq;
    this.#seq = (first + count - 1) >>> 0;
    const n = retryEintr("send", () => Number(libc().send(this.#fd, datagram, datagram.length, 0)), what);
    if (n !== datagram.length) throw new HostError(`netlink send of ${what} was short (${n} of ${datagram.length} bytes)`);
    const awaited = new Set(acked);
    let failure: SyscallError | null = null;
    while (awaited.size > 0) {
      const got = this.#recvQueued(what);
      if (got === null) break;
      for (const m of got) {
        if (m.type !== NLMSG_ERROR || ((m.seq - first) >>> 0) >= count) continue; // not about this datagram
        awaited.delete(m.seq);
        const { errno: e, text } = parseError(m);
        if (e !== 0 && failure === null) failure = withText(syscallError(what, e), text);
      }
    }
    if (failure) throw failure;
    if (awaited.size > 0) throw new HostError(`netlink: no reply to ${awaited.size} of the ${count} messages of ${what}`);
  }

  close(): void {
    if (this.#fd < 0) return;
    libc().close(this.#fd);
    this.#fd = -1;
  }

  #send(type: number, flags: number, parts: readonly Uint8Array[], what: string, subject?: string): number {
    if (this.#fd < 0) throw new HostError("netlink socket used after close");
    this.#seq = (this.#seq + 1) >>> 0;
    const msg = message(type, flags, this.#seq, parts);
    const n = retryEintr("send", () => Number(libc().send(this.#fd, msg, msg.length, 0)), `${what} ${subject ?? ""}`.trim());
    if (n !== msg.length) throw new HostError(`netlink send of ${what} was short (${n} of ${msg.length} bytes)`);
    return this.#seq;
  }

  /** One queued datagram's messages, or null when none is queued (MSG_DONTWAIT). */
  #recvQueued(what: string): NlMessage[] | null {
    for (;;) {
      const n = Number(libc().recv(this.#fd, this.#buf, RECV_BUF, MSG_TRUNC | MSG_DONTWAIT));
      if (n >= 0) return this.#messages(n, what);
      const e = errno();
      if (e === EAGAIN) return null;
      if (e !== EINTR) throw syscallError("recv", e, what);
    }
  }

  #recv(what: string, subject?: string): NlMessage[] {
    const n = retryEintr("recv", () => Number(libc().recv(this.#fd, this.#buf, RECV_BUF, MSG_TRUNC)), `${what} ${subject ?? ""}`.trim());
    return this.#messages(n, what);
  }

  #messages(n: number, what: string): NlMessage[] {
    if (n > RECV_BUF) throw new HostError(`netlink reply to ${what} truncated (${n} bytes > ${RECV_BUF})`);
    return parseMessages(this.#buf.slice(0, n));
  }
}

/** One request as requestEach takes it: request()'s arguments. */
export interface NlRequest { type: number; flags: number; parts: readonly Uint8Array[]; what: string; subject?: string }

/** Appends the kernel's extended-ack text, which often names the real problem. */
function withText(e: SyscallError, text: string | undefined): SyscallError {
  if (text) e.message = `${e.message} (${text})`;
  return e;
}

/** Runs `fn` with a fresh netlink socket and always closes it. */
export function withNetlink<T>(fn: (nl: Netlink) => T): T {
  const nl = Netlink.open();
  try {
    return fn(nl);
  } finally {
    nl.close();
  }
}
