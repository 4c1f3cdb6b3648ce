/**
 * The userspace proxy of `bun run bench ports`: how a user-space `-p` works (docker-proxy's io.Copy,
 * apple/container's proxy): accept on the host port, connect to the guest, copy bytes both ways.
 *   bun scripts/bench-ports-proxy.ts LISTEN_HOST LISTEN_PORT GUEST_HOST GUEST_PORT [...more quadruples]
 * Prints "ready" once every listener is up.
 */
import net from "node:net";

const args = process.argv.slice(2);
const listeners: Promise<void>[] = [];
for (let i = 0; i + 3 < args.length; i += 4) {
  const [host, port, guest, guestPort] = args.slice(i, i + 4) as [string, string, string, string];
  const server = net.createServer((client) => {
    const up = net.connect({ host: guest, port: Number(guestPort) });
    client.pipe(up);
    up.pipe(client);
    const end = () => { client.destroy(); up.destroy(); };
    client.on("error", end);
    up.on("error", end);
  });
  listeners.push(new Promise((resolve) => server.listen({ host, port: Number(port), backlog: 1024 }, () => resolve())));
}
await Promise.all(listeners);
console.log("ready");
