/**
 * A cpio archive in the "newc" format (what the kernel's initramfs unpacker reads; see
 * Documentation/driver-api/early-userspace/buffer-format.rst). Headers are 110 ASCII bytes: the
 * magic "070701" and 13 eight-digit hex fields; name and data are each padded to 4 bytes.
 */
export type CpioEntry =
  | { path: string; type: "dir"; mode?: number }
  | { path: string; type: "file"; data: Uint8Array; mode?: number }
  | { path: string; type: "symlink"; target: string }
  | { path: string; type: "char"; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const TRAILER = "TRAILER!!!";

const hex8 = (n: number) => n.toString(16).padStart(8, "0");
const pad4 = (n: number) => (4 - (n % 4)) % 4;

function header(ino: number, mode: number, size: number, nameLen: number, rdev: [number, number] = [0, 0]): string {
  // magic ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
  const fields = [ino, mode, 0, 0, 1, 0, size, 0, 0, rdev[0], rdev[1], nameLen, 0];
  return "070701" + fields.map(hex8).join("");
}

/** Serializes the entries (parents first, as the unpacker creates them in order) plus the trailer. */
export function cpioNewc(entries: CpioEntry[]): Uint8Array<ArrayBuffer> {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  let total = 0;
  const push = (b: Uint8Array) => {
    parts.push(b);
    total += b.length;
    const p = pad4(total);
    if (p) {
      parts.push(new Uint8Array(p));
      total += p;
    }
  };
  let ino = 1;
  for (const e of [...entries, { path: TRAILER, type: "file" as const, data: new Uint8Array(0), mode: 0 }]) {
    const name = enc.encode(`${e.path.replace(/^\/+/, "")}\0`);
    let mode: number;
    let data: Uint8Array = new Uint8Array(0);
    let rdev: [number, number] = [0, 0];
    if (e.type === "dir") mode = S_IFDIR | (e.mode ?? 0o755);
    else if (e.type === "symlink") {
      mode = S_IFLNK | 0o777;
      data = enc.encode(e.target);
    } else if (e.type === "char") {
      mode = S_IFCHR | (e.mode ?? 0o600);
      rdev = [e.major, e.minor];
    } else {
      mode = e.path === TRAILER ? 0 : S_IFREG | (e.mode ?? 0o644);
      data = e.data;
    }
    // header + name are padded together to 4 bytes, then the data on its own.
    const h = enc.encode(header(e.path === TRAILER ? 0 : ino++, mode, data.length, name.length, rdev));
    const hn = new Uint8Array(h.length + name.length);
    hn.set(h);
    hn.set(name, h.length);
    push(hn);
    if (data.length) push(data);
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
