/**
 * A checked TCP stream for the offload tests: `serve PORT` accepts one connection, prints "listening",
 * then, when the peer closes, one line "bytes SHA256"; `send HOST PORT MIB` sends MIB MiB of
 * pseudo-random bytes (the same seed every time) in large writes and prints the same line for what it
 * sent. Equal lines on both ends: every byte arrived, in order, unchanged.
 */
import { createHash } from "node:crypto";
import { connect, createServer } from "node:net";

const [mode, ...args] = process.argv.slice(2);

function chunk(): Buffer {
  const b = Buffer.alloc(1 << 20);
  let x = 0x12345678;
  for (let i = 0; i < b.length; i += 4) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; // xorshift32
    b.writeUInt32LE(x >>> 0, i);
  }
  return b;
}

if (mode === "serve") {
  const server = createServer((sock) => {
    const h = createHash("sha256");
    let n = 0;
    sock.on("data", (d: Buffer) => { h.update(d); n += d.length; });
    sock.on("end", () => {
      console.log(`${n} ${h.digest("hex")}`);
      sock.end();
      server.close();
    });
  });
  server.listen(Number(args[0]), "0.0.0.0", () => console.log("listening"));
} else if (mode === "send") {
  const [host, port, mib] = args as [string, string, string];
  const data = chunk();
  const h = createHash("sha256");
  const sock = connect(Number(port), host, async () => {
    for (let i = 0; i < Number(mib); i++) {
      h.update(data);
      if (!sock.write(data)) await new Promise((r) => sock.once("drain", r));
    }
    sock.end();
    console.log(`${Number(mib) * data.length} ${h.digest("hex")}`);
  });
  sock.on("error", (e) => { console.error(String(e)); process.exit(1); });
} else {
  console.error("usage: tcp-stream.ts serve PORT | send HOST PORT MIB");
  process.exit(2);
}
