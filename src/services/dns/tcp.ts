/**
 * DNS over TCP (RFC 1035 §4.2.2, RFC 7766): messages with a 2-byte length prefix, pipelined on one
 * connection. Bounded like dnsmasq's: at most MAX_TCP_CLIENTS connections per listener
 * (max-tcp-connections, 20; more are closed at once), idle ones dropped after TCP_IDLE_SECONDS, and
 * a message longer than MAX_TCP_QUERY or shorter than a header closes the connection, so a slow
 * client cannot make the daemon buffer 64 KiB per connection a byte at a time.
 */
import type { RateLimited } from "../log.ts";
import { tcpFrame } from "./forward.ts";
import { HEADER_LEN } from "./wire.ts";

export const MAX_TCP_CLIENTS = 20;
/** An idle TCP client is dropped after this many seconds (RFC 7766 suggests "a few seconds"). */
export const TCP_IDLE_SECONDS = 10;
/** A query is one question: 4 KiB is far more than any needs (a name is at most 255 bytes). */
export const MAX_TCP_QUERY = 4096;

type State = { buf: Uint8Array };
export type OnQuery = (msg: Uint8Array, client: string) => Promise<Uint8Array | null>;

export function listenTcp(hostname: string, port: number, onQuery: OnQuery, bad: RateLimited): { stop(force?: boolean): void } {
  let open = 0;
  return Bun.listen<State>({
    hostname, port,
    socket: {
      open: (s) => {
        s.data = { buf: new Uint8Array(0) };
        if (++open > MAX_TCP_CLIENTS) {
          bad.hit(`TCP connection from ${s.remoteAddress} over the limit of ${MAX_TCP_CLIENTS}`);
          s.end();
          return;
        }
        s.timeout(TCP_IDLE_SECONDS);
      },
      close: () => { open--; },
      data: (s, chunk) => received(s, chunk, onQuery, bad),
      timeout: (s) => { s.end(); },
      error: () => {},
    },
  });
}

function received(s: Bun.Socket<State>, chunk: Uint8Array, onQuery: OnQuery, bad: RateLimited): void {
  const prev = s.data.buf;
  const buf = new Uint8Array(prev.length + chunk.length);
  buf.set(prev);
  buf.set(chunk, prev.length);
  let at = 0;
  while (buf.length - at >= 2) {
    const len = (buf[at]! << 8) | buf[at + 1]!;
    if (len < HEADER_LEN || len > MAX_TCP_QUERY) {
      bad.hit(`TCP message of ${len} bytes`);
      s.end(); // the framing is lost (or not worth waiting for): nothing after this can be trusted
      return;
    }
    if (buf.length - at - 2 < len) break;
    const msg = buf.slice(at + 2, at + 2 + len);
    at += 2 + len;
    void onQuery(msg, s.remoteAddress).then((r) => {
      if (r && s.readyState > 0) s.write(tcpFrame(r)); // the client may have gone meanwhile
    });
  }
  s.data.buf = buf.slice(at);
}
