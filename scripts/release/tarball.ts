/**
 * vmlan-<version>-<os>-<arch>.tar.gz: one folder of that name with bin/vmlan, the man pages, the
 * completions where Homebrew and most shells look (share/...), LICENSE and README.md. Reproducible:
 * sorted names, owner 0, one mtime, gzip without a timestamp (GNU tar; `gtar` on a Mac).
 */
import { chmodSync, linkSync, mkdirSync, copyFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "./sh.ts";
import { COMPLETION_FILES, type Staged } from "./stage.ts";

/** The layout inside the folder; the Homebrew formula installs from exactly these paths. */
export const TARBALL_PATHS = {
  binary: "bin/vmlan",
  man1: "share/man/man1",
  bash: `share/bash-completion/completions/${COMPLETION_FILES.bash}`,
  zsh: `share/zsh/site-functions/${COMPLETION_FILES.zsh}`,
  fish: `share/fish/vendor_completions.d/${COMPLETION_FILES.fish}`,
} as const;

export const tarballName = (version: string, target: string) => `vmlan-${version}-${target}.tar.gz`;

/** Small files are copied: each tarball's own inodes, so no tar sees another one's chmod (ctime) mid-read. */
function place(from: string, to: string, mode: number): void {
  mkdirSync(join(to, ".."), { recursive: true });
  copyFileSync(from, to);
  chmodSync(to, mode);
}

/** The binary (~110 MB, one per target) as a hard link: free; a copy when the folders are on two filesystems. */
function placeBinary(from: string, to: string): void {
  mkdirSync(join(to, ".."), { recursive: true });
  try { linkSync(from, to); } catch { copyFileSync(from, to); }
  chmodSync(to, 0o755);
}

/** Writes <out>/vmlan-<version>-<target>.tar.gz from `binary` and the staged files; returns its path. */
export async function makeTarball(o: { binary: string; target: string; version: string; staged: Staged; work: string; out: string; epoch: number }): Promise<string> {
  const top = `vmlan-${o.version}-${o.target}`;
  const dir = join(o.work, top);
  placeBinary(o.binary, join(dir, TARBALL_PATHS.binary));
  for (const page of readdirSync(join(o.staged.dir, "man1"))) place(join(o.staged.dir, "man1", page), join(dir, TARBALL_PATHS.man1, page), 0o644);
  for (const shell of ["bash", "zsh", "fish"] as const) place(join(o.staged.dir, "completions", COMPLETION_FILES[shell]), join(dir, TARBALL_PATHS[shell]), 0o644);
  for (const f of ["LICENSE", "README.md"]) place(join(o.staged.dir, f), join(dir, f), 0o644);
  const file = join(o.out, tarballName(o.version, o.target));
  const tar = Bun.which("gtar") ?? "tar";
  await pipeline(
    `${tar} --sort=name --owner=0 --group=0 --numeric-owner --mtime=@${o.epoch} -cf - ${top} | gzip -n -6 > '${file}'`,
    o.work,
  );
  return file;
}
