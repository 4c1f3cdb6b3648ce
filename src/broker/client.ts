/**
 * A blocking client for the broker (reference client for docs/protocol.md). One connection is
 * one holder: the broker releases everything it holds when the connection closes, also when the
 * process dies.
 */
import * as v from "valibot";
import { connectUnix, sendWithFd, recvWithFd, closeFd } from "../ipc/unix-stream.ts";
import { encodeFrame, takeFrames, Reply, AcquireResult, BrokerLease, PROTOCOL_VERSION, MAX_FRAME, type Request } from "./protocol.ts";
import { VmlanError, HostError } from "../core/errors.ts";

export { BROKER_SOCKET, SYSTEM_BROKER_SOCKET, defaultBrokerSocket } from "./socket-path.ts";
import { defaultBrokerSocket } from "./socket-path.ts";

/** The broker's error codes as this process's exit codes (core/errors.ts). */
const EXIT_CODES: Record<string, number> = { EUSAGE: 2, ENOTFOUND: 3, ECONFLICT: 4, EPERM: 5, ELIMIT: 4 };

type Params<O extends Request["op"]> = Omit<Extract<Request, { op: O }>, "v" | "id" | "op">;

export class BrokerClient {
  #fd: number;
  #nextId = 1;
  #buf = new Uint8Array(0);
  #chunk = new Uint8Array(MAX_FRAME + 4);

  private constructor(fd: number, readonly path: string) {
    this.#fd = fd;
  }

  static connect(path = defaultBrokerSocket()): BrokerClient {
    try {
      return new BrokerClient(connectUnix(path), path);
    } catch (e) {
      throw new HostError(`cannot reach the broker at ${path} (${(e as Error).message}); start it with \`vmlan broker\``, { cause: e });
    }
  }

  /** Sends one request and waits for its reply; returns the result and any passed descriptor. */
  call<O extends Request["op"]>(op: O, params: Params<O>): { result: unknown; fd: number | null } {
    const id = this.#nextId++;
    let sendError: unknown = null;
    try {
      sendWithFd(this.#fd, encodeFrame({ v: PROTOCOL_VERSION, id, op, ...params }));
    } catch (e) {
      sendError = e; // the broker may have refused us and hung up: its reply is still there to read
    }
    let passed: number | null = null;
    for (;;) {
      const { frames, rest } = takeFrames(this.#buf);
      if (frames.length) {
        this.#buf = rest.slice();
        const reply = v.parse(Reply, JSON.parse(new TextDecoder().decode(frames[0])));
        if (!reply.ok) {
          if (passed !== null) closeFd(passed);
          throw new VmlanError(`broker: ${reply.error.message}`, { code: reply.error.code, exitCode: EXIT_CODES[reply.error.code] ?? 6 });
        }
        return { result: reply.result, fd: passed };
      }
      let got: { n: number; fd: number | null };
      try {
        got = recvWithFd(this.#fd, this.#chunk, false);
      } catch (e) {
        throw sendError ?? e;
      }
      if (got.fd !== null) passed = got.fd;
      if (got.n === 0 && sendError) throw sendError;
      if (got.n === 0) throw new HostError(`the broker at ${this.path} closed the connection (it may have restarted); reconnect`);
      if (got.n > 0) {
        const merged = new Uint8Array(this.#buf.length + got.n);
        merged.set(this.#buf);
        merged.set(this.#chunk.subarray(0, got.n), this.#buf.length);
        this.#buf = merged;
      }
    }
  }

  acquire(network: string, tap = false): { result: AcquireResult; tapFd: number | null } {
    const { result, fd } = this.call("acquire", { network, tap });
    return { result: v.parse(AcquireResult, result), tapFd: fd };
  }

  release(network: string): void {
    this.call("release", { network });
  }

  /** A lease from the broker's IPAM; without `keep` the broker releases it when this connection closes. */
  attach(network: string, id: string, opts: { mac?: string; keep?: boolean; allowSpoofing?: boolean } = {}): BrokerLease {
    const params = {
      network, interfaceId: id, ...(opts.mac !== undefined ? { mac: opts.mac } : {}), ...(opts.keep ? { keep: true } : {}),
      ...(opts.allowSpoofing !== undefined ? { allowSpoofing: opts.allowSpoofing } : {}),
    };
    return v.parse(BrokerLease, this.call("attach", params).result);
  }

  detach(network: string, id: string): void {
    this.call("detach", { network, interfaceId: id });
  }

  close(): void {
    closeFd(this.#fd);
    this.#fd = -1;
  }
}
