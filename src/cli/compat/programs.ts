/**
 * The peers' programs this binary can be (started through a link or copy with the program's name,
 * like busybox): process.argv0 keeps the name it was started by in a compiled Bun binary, while
 * process.argv[0] is "bun" and process.execPath resolves links. Each entry loads its code lazily,
 * so `vmlan version` and every other vmlan command load none of it. `dir` is where the peer's own
 * installer puts it and where its users' tools look (`vmlan compat install`).
 */
export interface Program {
  name: string;
  /** Default install directory (`vmlan compat install` without --prefix). */
  dir: string;
  load(): Promise<{ main(argv: string[]): Promise<number> }>;
}

export const PROGRAMS: readonly Program[] = [
  // nirs/vmnet-helper: /opt/vmnet-helper/bin (install.sh, docs/integration.md; minikube's installPath).
  { name: "vmnet-helper", dir: "/opt/vmnet-helper/bin", load: () => import("./vmnet-helper.ts") },
  { name: "vmnet-run", dir: "/opt/vmnet-helper/bin", load: () => import("./vmnet-run.ts") },
  // lima-vm/socket_vmnet: /opt/socket_vmnet/bin (its Makefile's PREFIX; lima's default socketVMNet path).
  { name: "socket_vmnet", dir: "/opt/socket_vmnet/bin", load: () => import("./socket-vmnet.ts") },
  { name: "socket_vmnet_client", dir: "/opt/socket_vmnet/bin", load: () => import("./socket-vmnet-client.ts") },
];

/** The program named by how this process was started (the basename of argv0), or null for vmlan itself. */
export function programFor(argv0: string): Program | null {
  const base = argv0.slice(argv0.lastIndexOf("/") + 1);
  return PROGRAMS.find((p) => p.name === base) ?? null;
}
