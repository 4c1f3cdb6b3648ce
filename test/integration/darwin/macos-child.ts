/**
 * Child of macos.test.ts: recreates a vmnet network from serialization bytes (hex in argv[2]) in a
 * process that did not create it, and prints its info or the error. Answers whether the flattened
 * serialization is usable across processes (docs/macos.md).
 */
import { VmnetNetwork } from "../../../src/platform/darwin/network.ts";

try {
  const net = VmnetNetwork.fromSerialization(Uint8Array.from(Buffer.from(process.argv[2] ?? "", "hex")));
  console.log(JSON.stringify({ ok: true, info: net.info() }));
  net.release();
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e) }));
  process.exitCode = 1;
}
