/**
 * The binary started as `socket_vmnet_client`: `socket_vmnet_client SOCKET COMMAND [ARGS...]`
 * connects to SOCKET and execs COMMAND with the connected socket as fd 3, as lima-vm/socket_vmnet's
 * client/main.c does (a leading `--` before COMMAND is skipped; DEBUG set prints COMMAND's argv on
 * stderr). Every failure is one line on stderr and exit 1, with socket_vmnet_client's messages. On
 * success this process becomes COMMAND and never returns.
 */
import { writeSync } from "node:fs";
import { connectForExec, execWithSocket, strerror } from "../../ipc/exec-connected.ts";

export async function main(argv: string[], argv0 = process.argv0): Promise<number> {
  // Written at once (not through Bun's buffered stderr): after a failed exec the process exits right away.
  const say = (msg: string) => writeSync(2, `${msg}\n`);
  const fail = (msg: string) => (say(msg), 1);
  if (argv.length < 2) return fail(`Usage: ${argv0} SOCKET COMMAND [ARGS...]`);
  const [socket, ...rest] = argv as [string, ...string[]];
  const child = rest[0] === "--" ? rest.slice(1) : rest;
  if (child.length === 0) return fail(`Usage: ${argv0} SOCKET COMMAND [ARGS...]`);
  const c = connectForExec(socket);
  if (c === null) return fail(`The socket path "${socket}" is too long`);
  if ("errno" in c) return fail(`Failed to connect to "${socket}": ${strerror(c.errno)}`);
  if (process.env.DEBUG !== undefined) child.forEach((a, i) => say(`child_argv[${i}]: "${a}"`));
  const e = execWithSocket(c.fd, child);
  return fail(`Failed to exec "${child[0]}": ${strerror(e)}`);
}
