/**
 * Forwarding to the host's resolvers: VMLAN_DNS_UPSTREAM ("ip[:port],..." for tests and odd
 * hosts), else the nameservers of /etc/resolv.conf. `ip netns exec NS` bind-mounts
 * /etc/netns/NS/resolv.conf over /etc/resolv.conf, so a namespace sees its own resolvers.
 * forwarder.ts sends queries to them: over UDP, or over TCP for a client that asked over TCP (a
 * large answer must not come back truncated to it); the TCP exchange is here.
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";

export interface Upstream { host: string; port: number }

/** Per upstream: long enough for a slow recursive lookup, short enough that a client's own 5 s retry is not wasted. */
export const UPSTREAM_TIMEOUT_MS = 2000;
export const RESOLV_CONF = "/etc/resolv.conf";

/** Parses "1.2.3.4", "1.2.3.4:5353", "[fd00::1]:53", comma or space separated. Bad entries are skipped. */
export function parseUpstreams(text: string): Upstream[] {
  const out: Upstream[] = [];
  for (const raw of text.split(/[\s,]+/).filter(Boolean)) {
    const m = /^\[(.+)\]:(\d+)$/.exec(raw) ?? /^([^:]+):(\d+)$/.exec(raw);
    const host = m ? m[1]! : raw;
    const port = m ? Number(m[2]) : 53;
    if (isIP(host) && port > 0 && port < 65536) out.push({ host, port });
  }
  return out;
}

/** The nameserver lines of a resolv.conf. */
export function parseResolvConf(text: string): Upstream[] {
  return text.split("\n").flatMap((line) => {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    const host = m?.[1]?.replace(/%.*$/, ""); // drop a zone index ("fe80::1%eth0"): Bun's socket cannot take it
    return host && isIP(host) ? [{ host, port: 53 }] : [];
  });
}

/**
 * The upstreams to use now, minus `own` (vmlan's gateway addresses: forwarding to ourselves
 * would loop). Read on every call so a changed resolv.conf applies without a restart.
 */
export function upstreams(own: Set<string>, env: Record<string, string | undefined> = process.env): Upstream[] {
  let list: Upstream[];
  if (env.VMLAN_DNS_UPSTREAM) list = parseUpstreams(env.VMLAN_DNS_UPSTREAM);
  else {
    try {
      list = parseResolvConf(readFileSync(RESOLV_CONF, "utf8"));
    } catch {
      list = [];
    }
  }
  return list.filter((u) => !own.has(u.host));
}

/** RFC 1035 §4.2.2: a DNS message over TCP is prefixed with its length (2 bytes, big-endian). */
export function tcpFrame(msg: Uint8Array): Uint8Array {
  const out = new Uint8Array(msg.length + 2);
  out[0] = msg.length >> 8;
  out[1] = msg.length & 0xff;
  out.set(msg, 2);
  return out;
}

/** One query over a fresh TCP connection to the upstream; null on timeout, refusal or a short read. */
export function askUpstreamTcp(query: Uint8Array, u: Upstream, timeoutMs = UPSTREAM_TIMEOUT_MS): Promise<Uint8Array | null> {
  return new Promise((resolve) => {
    let buf = new Uint8Array(0);
    let sock: { end(): void } | null = null;
    let done = false;
    const finish = (r: Uint8Array | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock?.end();
      resolve(r);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    Bun.connect({
      hostname: u.host, port: u.port,
      socket: {
        open: (s) => { s.write(tcpFrame(query)); },
        data: (_s, d) => {
          const next = new Uint8Array(buf.length + d.length);
          next.set(buf);
          next.set(d, buf.length);
          buf = next;
          const len = buf.length >= 2 ? (buf[0]! << 8) | buf[1]! : -1;
          if (len >= 0 && buf.length >= len + 2) finish(buf.slice(2, len + 2));
        },
        close: () => finish(null),
        error: () => finish(null),
        connectError: () => finish(null),
      },
    }).then((s) => { sock = s; if (done) s.end(); }, () => finish(null));
  });
}
