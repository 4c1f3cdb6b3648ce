/**
 * Sends one request to a services daemon's helper.sock as `vmlan helper` would, and prints every
 * frame the daemon sends until it hangs up, as one JSON array (run inside the daemon's namespace):
 *   bun test/support/helper-request.ts SOCKET REQUEST_JSON
 */
import { encodeFrame, gatherFrame } from "../../src/cni/wire.ts";
import { closeFd, connectUnix, recvWithFd, sendWithFd } from "../../src/ipc/unix-stream.ts";

const [path, request] = process.argv.slice(2);
const fd = connectUnix(path!);
sendWithFd(fd, encodeFrame(JSON.parse(request!)));
const frames: unknown[] = [];
const sofar = { buf: new Uint8Array(0) };
const chunk = new Uint8Array(65536);
for (let got = recvWithFd(fd, chunk, false); got.n > 0; got = recvWithFd(fd, chunk, false)) {
  if (got.fd !== null) closeFd(got.fd);
  for (let f = gatherFrame(sofar, chunk.subarray(0, got.n)); f !== null; f = gatherFrame(sofar, new Uint8Array(0))) frames.push(f);
}
closeFd(fd);
console.log(JSON.stringify(frames));
