/**
 * Debian's podman with its CNI backend, boxed in for a test: its own containers.conf (CNI backend,
 * our plugin directory and CNI config dir, runc, cgroupfs, file events), storage.conf (vfs under the
 * test's dir), runc state dir, and a rootfs of the host's busybox (no image: there is no registry
 * here). It runs in the test's host namespace through nsenter, which, unlike `ip netns exec`, keeps
 * /sys with its cgroup mounts (runc needs them). What podman still creates of its own accord: the
 * container's namespace in /run/netns/cni-* (removed when the container stops), libcni's result
 * cache in /var/lib/cni/results (one file per attachment, removed on DEL), a cgroup per container.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Netns } from "./netns.ts";

export class PodmanBox {
  readonly dir = mkdtempSync(join(tmpdir(), "vmlan-podman-"));
  readonly netDir = join(this.dir, "net.d");
  readonly rootfs = join(this.dir, "rootfs");

  constructor(readonly host: Netns, pluginDir: string) {
    for (const d of ["net.d", "root", "runroot", "tmp", "runc", "rootfs/bin", "rootfs/lib/x86_64-linux-gnu", "rootfs/lib64", "rootfs/etc", "rootfs/proc", "rootfs/sys", "rootfs/dev", "rootfs/tmp"]) {
      mkdirSync(join(this.dir, d), { recursive: true });
    }
    // Debian's busybox is dynamically linked: the binary, its two libraries and the loader.
    copyFileSync("/bin/busybox", join(this.rootfs, "bin/busybox"));
    for (const l of ["libresolv.so.2", "libc.so.6"]) copyFileSync(`/lib/x86_64-linux-gnu/${l}`, join(this.rootfs, "lib/x86_64-linux-gnu", l));
    copyFileSync("/lib64/ld-linux-x86-64.so.2", join(this.rootfs, "lib64/ld-linux-x86-64.so.2"));
    for (const a of ["sh", "ip", "ping", "nslookup", "cat", "sleep", "echo"]) symlinkSync("busybox", join(this.rootfs, "bin", a));
    writeFileSync(join(this.dir, "containers.conf"), [
      "[network]", `network_backend = "cni"`, `cni_plugin_dirs = ["${pluginDir}"]`, `network_config_dir = "${this.netDir}"`,
      "[engine]", `runtime = "runc"`, `cgroup_manager = "cgroupfs"`, `events_logger = "file"`, `events_logfile_path = "${this.dir}/events.log"`,
      `tmp_dir = "${this.dir}/tmp"`, `static_dir = "${this.dir}/root/libpod"`, `volume_path = "${this.dir}/root/volumes"`, "",
    ].join("\n"));
    writeFileSync(join(this.dir, "storage.conf"), ["[storage]", `driver = "vfs"`, `graphroot = "${this.dir}/root"`, `runroot = "${this.dir}/runroot"`, ""].join("\n"));
  }

  /** Writes a conflist into the box's CNI config dir. */
  network(name: string, conflist: unknown): void {
    writeFileSync(join(this.netDir, `${name}.conflist`), JSON.stringify(conflist));
  }

  /** `podman ARGS` in the host namespace with the box's configuration; crun refuses this machine's hybrid cgroups, so runc. */
  async podman(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const argv = ["nsenter", `--net=/run/netns/${this.host.name}`, "podman", "--root", `${this.dir}/root`, "--runroot", `${this.dir}/runroot`, "--runtime-flag", `root=${this.dir}/runc`, ...args];
    const env = { ...process.env, CONTAINERS_CONF: join(this.dir, "containers.conf"), CONTAINERS_STORAGE_CONF: join(this.dir, "storage.conf") };
    const p = Bun.spawn(argv, { env, stdin: "ignore", stdout: "pipe", stderr: "pipe", cwd: this.dir, timeout: 60_000 });
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { code, stdout, stderr };
  }

  /** `podman run` of the busybox rootfs with the flags this machine needs. */
  run(opts: string[], ...cmd: string[]) {
    return this.podman("run", "--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", ...opts, "--rootfs", this.rootfs, ...cmd);
  }

  async remove(): Promise<void> {
    await this.podman("rm", "--all", "--force", "--time", "0");
    rmSync(this.dir, { recursive: true, force: true });
  }
}
