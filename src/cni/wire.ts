/**
 * What a plugin process and the services daemon say over `<stateDir>/cni.sock` (cni/client.ts,
 * cni/serve.ts): one request and one reply per connection, each a 4-byte big-endian length and that
 * many bytes of JSON. Pure: no I/O, no imports (the plugin side loads as little as it can).
 */
export const SOCKET_FILE = "cni.sock";
/** A config with a prevResult is a few KiB; anything near this is not a CNI call. */
export const MAX_FRAME = 1 << 20;

export interface CniRequest {
  /** CNI_* (and VMLAN_DEBUG) of the plugin process. */
  env: Record<string, string>;
  /** The config, as the runtime wrote it to the plugin's stdin. */
  stdin: string;
  /** The state dir the plugin found the socket in: the daemon serves only its own. */
  stateDir: string;
  /**
   * The plugin process: the daemon looks at its namespaces through /proc/<pid> (its network
   * namespace, and the file its CNI_NETNS names from its root), so the plugin stats nothing itself.
   */
  pid: number;
}

/** The answer to print and the exit code; or `fallback`: not served here, the plugin runs the call itself. */
export type CniReply = { code: number; out: string } | { fallback: string };

export function encodeFrame(value: unknown): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(value));
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

/** The value once `buf` holds a whole frame, else null; throws on a frame over MAX_FRAME or bad JSON. */
export function decodeFrame<T>(buf: Uint8Array): T | null {
  if (buf.length < 4) return null;
  const len = new DataView(buf.buffer, buf.byteOffset, 4).getUint32(0);
  if (len > MAX_FRAME) throw new Error(`frame of ${len} bytes (at most ${MAX_FRAME})`);
  if (buf.length < 4 + len) return null;
  return JSON.parse(new TextDecoder().decode(buf.subarray(4, 4 + len))) as T;
}

/**
 * One side of a connection: `chunk` joins the bytes so far, and the next value comes out once they
 * hold its whole frame (then only the bytes after that frame are kept: call again with an empty
 * chunk for a frame that came with it), else null. Throws as decodeFrame does (the caller hangs up).
 */
export function gatherFrame<T>(c: { buf: Uint8Array }, chunk: Uint8Array): T | null {
  const all = new Uint8Array(c.buf.length + chunk.length);
  all.set(c.buf);
  all.set(chunk, c.buf.length);
  const value = decodeFrame<T>(all);
  c.buf = value === null ? all : all.slice(4 + new DataView(all.buffer).getUint32(0));
  return value;
}

/** What a server's socket offers takeRequest (Bun's Socket does). */
export interface RequestSocket { data: { buf: Uint8Array; taken: boolean }; end(): void; timeout(seconds: number): void }

/**
 * A server's side of a one-request connection: the request once its frame is whole (the read
 * timeout then stops: answering may take long), null till then. A malformed frame, or bytes after
 * the request (a confused or hostile client), hang up.
 */
export function takeRequest(s: RequestSocket, chunk: Uint8Array): unknown {
  let req: unknown = null;
  try {
    if (s.data.taken) throw new Error("a second request");
    req = gatherFrame(s.data, chunk);
  } catch {
    s.end();
    return null;
  }
  if (req === null) return null;
  s.data.taken = true;
  s.timeout(0);
  return req;
}
