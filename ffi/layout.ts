/**
 * Struct layouts as data: declare the fields once, get offsets, size and alignment computed
 * with the C rules for LP64 Linux/macOS (each field aligned to its own alignment, the struct
 * padded to its largest alignment). test/ffi/layout.test.ts checks every layout against gcc.
 */
export type Scalar = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "u64" | "i64" | "ptr" | "usize";
export interface ArrayType { readonly of: Scalar | Layout; readonly length: number }
export type FieldType = Scalar | Layout | ArrayType;

export interface Field { readonly offset: number; readonly size: number; readonly type: FieldType }

export interface Layout {
  readonly kind: "struct" | "union";
  readonly name: string;
  readonly size: number;
  readonly align: number;
  /** Every field by path, nested members included ("ifr_ifru.ifru_flags"). */
  readonly fields: Readonly<Record<string, Field>>;
}

const SCALARS: Record<Scalar, number> = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, u64: 8, i64: 8, ptr: 8, usize: 8 };

export function array(of: Scalar | Layout, length: number): ArrayType {
  return { of, length };
}

function sizeAlign(t: FieldType): [number, number] {
  if (typeof t === "string") return [SCALARS[t], SCALARS[t]];
  if ("kind" in t) return [t.size, t.align];
  const [s, a] = sizeAlign(t.of);
  return [s * t.length, a];
}

const roundUp = (n: number, a: number) => Math.ceil(n / a) * a;

function build(kind: "struct" | "union", name: string, members: ReadonlyArray<readonly [string, FieldType]>): Layout {
  const fields: Record<string, Field> = {};
  let end = 0;
  let align = 1;
  for (const [field, type] of members) {
    const [size, a] = sizeAlign(type);
    const offset = kind === "union" ? 0 : roundUp(end, a);
    fields[field] = { offset, size, type };
    if (typeof type === "object" && "kind" in type) {
      for (const [sub, f] of Object.entries(type.fields)) fields[`${field}.${sub}`] = { ...f, offset: offset + f.offset };
    }
    end = kind === "union" ? Math.max(end, size) : offset + size;
    align = Math.max(align, a);
  }
  return { kind, name, size: roundUp(end, align), align, fields };
}

export function struct(name: string, members: ReadonlyArray<readonly [string, FieldType]>): Layout {
  return build("struct", name, members);
}
export function union(name: string, members: ReadonlyArray<readonly [string, FieldType]>): Layout {
  return build("union", name, members);
}

export function offsetOf(layout: Layout, path: string): number {
  const f = layout.fields[path];
  if (!f) throw new Error(`${layout.name} has no field ${path}`);
  return f.offset;
}

function scalarOf(layout: Layout, path: string): [Field, Scalar] {
  const f = layout.fields[path];
  if (!f || typeof f.type !== "string") throw new Error(`${layout.name}.${path} is not a scalar field`);
  return [f, f.type];
}

/** Reads a scalar field (host byte order). 64-bit values come back as numbers (exact below 2^53). */
export function read(layout: Layout, view: DataView, path: string, base = 0): number {
  const [f, t] = scalarOf(layout, path);
  const o = base + f.offset;
  switch (t) {
    case "u8": return view.getUint8(o);
    case "i8": return view.getInt8(o);
    case "u16": return view.getUint16(o, true);
    case "i16": return view.getInt16(o, true);
    case "u32": return view.getUint32(o, true);
    case "i32": return view.getInt32(o, true);
    case "i64": return Number(view.getBigInt64(o, true));
    default: return Number(view.getBigUint64(o, true));
  }
}

export function write(layout: Layout, view: DataView, path: string, value: number | bigint, base = 0): void {
  const [f, t] = scalarOf(layout, path);
  const o = base + f.offset;
  const n = Number(value);
  switch (t) {
    case "u8": case "i8": view.setUint8(o, n & 0xff); break;
    case "u16": case "i16": view.setUint16(o, n & 0xffff, true); break;
    case "u32": case "i32": view.setUint32(o, n >>> 0, true); break;
    default: view.setBigUint64(o, BigInt.asUintN(64, BigInt(value)), true);
  }
}

/** A zeroed buffer of the struct's size, with a DataView on the same ArrayBuffer (see the `.buffer` pitfall). */
export function alloc(layout: Layout, count = 1): { bytes: Uint8Array; view: DataView } {
  const ab = new ArrayBuffer(layout.size * count);
  return { bytes: new Uint8Array(ab), view: new DataView(ab) };
}
