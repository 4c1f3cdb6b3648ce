/**
 * A byte writer for nf_tables batches over nfnetlink (no I/O): messages, their attributes, and a
 * rule's expressions as nft itself encodes them (`nft --debug=netlink` prints them). Numbers:
 * <linux/netfilter/nfnetlink.h>, <linux/netfilter/nf_tables.h>, <linux/netfilter.h>, checked with
 * gcc on Linux 6.18. Attribute values of nf_tables are big-endian (`__be32`); data (keys, compared
 * bytes) is the packet's own byte order, except meta keys that hold host-order numbers (iif).
 * One buffer, written in place (a nest's length patched at its end): a port's batch has ~300
 * attributes, and building each as an array of its own cost more than the kernel's commit.
 */
import { NLA_F_NESTED } from "./constants.ts";

export const NETLINK_NETFILTER = 12;
const NFNL_SUBSYS_NFTABLES = 10;
const NFNL_MSG_BATCH_BEGIN = 16;
const NFNL_MSG_BATCH_END = 17;
export const NFPROTO_BRIDGE = 7;

/** enum nf_tables_msg_types, as a nfnetlink message type (subsystem << 8 | message). */
const msg = (n: number) => (NFNL_SUBSYS_NFTABLES << 8) | n;
export const NFT_MSG_NEWCHAIN = msg(3);
export const NFT_MSG_NEWRULE = msg(6);
export const NFT_MSG_DELRULE = msg(8);
export const NFT_MSG_NEWSET = msg(9);
export const NFT_MSG_NEWSETELEM = msg(12);

export const NFTA_CHAIN_TABLE = 1, NFTA_CHAIN_NAME = 3;
export const NFTA_RULE_TABLE = 1, NFTA_RULE_CHAIN = 2, NFTA_RULE_EXPRESSIONS = 4;
export const NFTA_SET_ELEM_LIST_TABLE = 1, NFTA_SET_ELEM_LIST_SET = 2, NFTA_SET_ELEM_LIST_ELEMENTS = 3;
export const NFTA_SET_TABLE = 1, NFTA_SET_NAME = 2, NFTA_SET_FLAGS = 3, NFTA_SET_KEY_TYPE = 4, NFTA_SET_KEY_LEN = 5, NFTA_SET_DESC = 9, NFTA_SET_ID = 10, NFTA_SET_USERDATA = 13;
export const NFTA_SET_DESC_SIZE = 1;
/** enum nft_set_flags: a set that rules add to (nft's `flags dynamic`). */
export const NFT_SET_EVAL = 0x20;
const NFTA_LIST_ELEM = 1, NFTA_EXPR_NAME = 1, NFTA_EXPR_DATA = 2;
const NFTA_SET_ELEM_KEY = 1, NFTA_SET_ELEM_DATA = 2;
const NFTA_DATA_VALUE = 1, NFTA_DATA_VERDICT = 2, NFTA_VERDICT_CODE = 1, NFTA_VERDICT_CHAIN = 2;

export const NF_DROP = 0, NF_ACCEPT = 1, NFT_JUMP = -3;
export const NFT_META_PROTOCOL = 1, NFT_META_L4PROTO = 16;
export const NFT_PAYLOAD_LL_HEADER = 0, NFT_PAYLOAD_NETWORK_HEADER = 1, NFT_PAYLOAD_TRANSPORT_HEADER = 2, NFT_PAYLOAD_INNER_HEADER = 3;
/** NFT_CMP_EQ/NEQ and NFT_RANGE_EQ/NEQ have the same values. */
export const EQ = 0, NEQ = 1;
const NFT_REG_VERDICT = 0, NFT_REG_1 = 1;
const NFT_LOOKUP_F_INV = 1;
// <linux/netlink.h>
const NLM_F_REQUEST = 0x01, NLM_F_ACK = 0x04;
export const NLM_F_CREATE = 0x400, NLM_F_APPEND = 0x800;

const align4 = (n: number) => (n + 3) & ~3;

export class NfWriter {
  buf = new Uint8Array(8192);
  at = 0;
  #msgStart = 0;
  /** The sequence numbers of the messages written so far: the first, and how many. */
  readonly firstSeq: number;
  count = 0;

  constructor(firstSeq: number) {
    this.firstSeq = firstSeq >>> 0;
  }
  #room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.at + n));
    bigger.set(this.buf.subarray(0, this.at));
    this.buf = bigger;
  }
  #u16(o: number, n: number): void {
    this.buf[o] = n & 0xff;
    this.buf[o + 1] = (n >> 8) & 0xff;
  }
  #u32(o: number, n: number): void {
    this.#u16(o, n & 0xffff);
    this.#u16(o + 2, (n >>> 16) & 0xffff);
  }

  /** nlmsghdr + struct nfgenmsg (family, version 0, res_id big-endian). `ack`: the kernel answers it even when it succeeds. */
  begin(type: number, flags: number, family: number, resId = 0, ack = false): this {
    this.#room(20);
    this.#msgStart = this.at;
    this.#u16(this.at + 4, type);
    this.#u16(this.at + 6, NLM_F_REQUEST | flags | (ack ? NLM_F_ACK : 0));
    this.#u32(this.at + 8, (this.firstSeq + this.count++) >>> 0);
    this.#u32(this.at + 12, 0);
    this.buf[this.at + 16] = family;
    this.buf[this.at + 17] = 0;
    this.buf[this.at + 18] = resId >> 8;
    this.buf[this.at + 19] = resId & 0xff;
    this.at += 20;
    return this;
  }
  end(): this {
    this.#u32(this.#msgStart, this.at - this.#msgStart);
    return this;
  }
  /** A batch's first and last message (nfnetlink's, addressed to nf_tables by their res_id). */
  batchBegin(): this {
    return this.begin(NFNL_MSG_BATCH_BEGIN, 0, 0, NFNL_SUBSYS_NFTABLES).end();
  }
  batchEnd(): this {
    return this.begin(NFNL_MSG_BATCH_END, 0, 0, NFNL_SUBSYS_NFTABLES).end();
  }

  /**
   * An attribute with `size` bytes of payload; returns where the payload goes. Its padding is not
   * written: the buffer starts zeroed (and grows zeroed) and is written once, front to back.
   */
  #attr(type: number, size: number): number {
    const len = 4 + size;
    const at = this.at;
    if (at + len + 3 > this.buf.length) this.#room(len + 3);
    const b = this.buf;
    b[at] = len & 0xff;
    b[at + 1] = len >> 8;
    b[at + 2] = type & 0xff;
    b[at + 3] = type >> 8;
    this.at = at + ((len + 3) & ~3);
    return at + 4;
  }
  bytes(type: number, b: Uint8Array): this {
    this.buf.set(b, this.#attr(type, b.length));
    return this;
  }
  /** A NUL-terminated name (nft's names are ASCII: checked by their makers). */
  str(type: number, s: string): this {
    const o = this.#attr(type, s.length + 1);
    const b = this.buf;
    for (let i = 0; i < s.length; i++) b[o + i] = s.charCodeAt(i); // the NUL: zero already
    return this;
  }
  be32(type: number, n: number): this {
    const o = this.#attr(type, 4);
    const b = this.buf;
    b[o] = (n >>> 24) & 0xff;
    b[o + 1] = (n >>> 16) & 0xff;
    b[o + 2] = (n >>> 8) & 0xff;
    b[o + 3] = n & 0xff;
    return this;
  }
  /** Opens a nested attribute: its children follow; close() it with what this returns. */
  open(type: number): number {
    this.#room(4);
    const start = this.at;
    this.#u16(start + 2, type | NLA_F_NESTED);
    this.at += 4;
    return start;
  }
  close(start: number): this {
    this.#u16(start, this.at - start);
    return this;
  }
  /** Bytes written elsewhere by an NfWriter (a constant rule's expressions). */
  raw(b: Uint8Array): this {
    this.#room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
    return this;
  }
  /** The datagram so far. */
  done(): Uint8Array {
    return this.buf.subarray(0, this.at);
  }

  // ---- data and verdicts ------------------------------------------------------------------------
  value(type: number, b: Uint8Array): this {
    const n = this.open(type);
    return this.bytes(NFTA_DATA_VALUE, b).close(n);
  }
  verdict(type: number, code: number, chain?: string): this {
    const outer = this.open(type);
    const inner = this.open(NFTA_DATA_VERDICT);
    this.be32(NFTA_VERDICT_CODE, code);
    if (chain !== undefined) this.str(NFTA_VERDICT_CHAIN, chain);
    return this.close(inner).close(outer);
  }
  /** One element of a set, or of a verdict map with its `jump CHAIN`. */
  element(key: Uint8Array, jump?: string): this {
    const n = this.open(NFTA_LIST_ELEM);
    this.value(NFTA_SET_ELEM_KEY, key);
    if (jump !== undefined) this.verdict(NFTA_SET_ELEM_DATA, NFT_JUMP, jump);
    return this.close(n);
  }

  // ---- expressions (inside NFTA_RULE_EXPRESSIONS); each leaves two nests open for #end ----------
  #expr(name: string): [number, number] {
    const elem = this.open(NFTA_LIST_ELEM);
    this.str(NFTA_EXPR_NAME, name);
    return [elem, this.open(NFTA_EXPR_DATA)];
  }
  #end([elem, data]: [number, number]): this {
    return this.close(data).close(elem);
  }
  /** `[ meta load KEY => reg 1 ]` */
  meta(key: number): this {
    const e = this.#expr("meta");
    return this.be32(2 /* KEY */, key).be32(1 /* DREG */, NFT_REG_1).#end(e);
  }
  /** `[ payload load LENb @ BASE + OFFSET => reg 1 ]` */
  payload(base: number, offset: number, len: number): this {
    const e = this.#expr("payload");
    return this.be32(1 /* DREG */, NFT_REG_1).be32(2 /* BASE */, base).be32(3 /* OFFSET */, offset).be32(4 /* LEN */, len).#end(e);
  }
  /** `[ cmp OP reg 1 DATA ]` */
  cmp(op: number, data: Uint8Array): this {
    const e = this.#expr("cmp");
    return this.be32(1 /* SREG */, NFT_REG_1).be32(2 /* OP */, op).value(3 /* DATA */, data).#end(e);
  }
  /** `[ range OP reg 1 FROM TO ]` */
  range(op: number, from: Uint8Array, to: Uint8Array): this {
    const e = this.#expr("range");
    return this.be32(1 /* SREG */, NFT_REG_1).be32(2 /* OP */, op).value(3 /* FROM_DATA */, from).value(4 /* TO_DATA */, to).#end(e);
  }
  /** `[ bitwise reg 1 = ( reg 1 & MASK ) ^ XOR ]` */
  bitwise(mask: Uint8Array, xor: Uint8Array): this {
    const e = this.#expr("bitwise");
    return this.be32(1 /* SREG */, NFT_REG_1).be32(2 /* DREG */, NFT_REG_1).be32(3 /* LEN */, mask.length).value(4 /* MASK */, mask).value(5 /* XOR */, xor).#end(e);
  }
  /** `[ lookup reg 1 set SET ]`, `0x1` (not in it) when `inverted`; `setId`: a set made in the same batch, as nft names it too. */
  lookup(set: string, inverted = false, setId?: number): this {
    const e = this.#expr("lookup");
    this.str(1 /* SET */, set).be32(2 /* SREG */, NFT_REG_1);
    if (setId !== undefined) this.be32(4 /* SET_ID */, setId);
    if (inverted) this.be32(5 /* FLAGS */, NFT_LOOKUP_F_INV);
    return this.#end(e);
  }
  /** `[ dynset add reg_key 1 set SET ]` (`add @SET { ... }`); `setId` as lookup's. */
  dynsetAdd(set: string, setId?: number): this {
    const e = this.#expr("dynset");
    this.str(1 /* SET_NAME */, set);
    if (setId !== undefined) this.be32(2 /* SET_ID */, setId);
    return this.be32(3 /* OP */, 0 /* NFT_DYNSET_OP_ADD */).be32(4 /* SREG_KEY */, NFT_REG_1).#end(e);
  }
  /** `[ immediate reg 0 VERDICT ]` */
  immediate(code: number): this {
    const e = this.#expr("immediate");
    return this.be32(1 /* DREG */, NFT_REG_VERDICT).verdict(2 /* DATA */, code).#end(e);
  }
}

/** What `body` writes, as bytes to `raw()` into other batches: a rule's expressions that never change. */
export function encoded(body: (w: NfWriter) => void): Uint8Array {
  const w = new NfWriter(0);
  body(w);
  return w.done().slice();
}
