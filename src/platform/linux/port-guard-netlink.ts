/**
 * A new port's rules (portScript's, port-guard-rules.ts), pinned or learning, sent to the kernel as
 * one nf_tables batch of our own, not as text through libnftables: on the path of every CNI ADD, VM
 * and helper start.
 * libnftables parses the text, then reads the ruleset's tables, chains (every port's), sets and
 * every link before each transaction, as it cannot know that nothing changed since its last one:
 * most of the ~1.15 ms a guarded CNI ADD spent on its port (issue #16), and more with more ports.
 * The batch holds the expressions nft makes of portScript's lines (`nft --debug=netlink`), so the
 * kernel holds, and `nft list` prints, the same rules: test/integration/platform/guard-netlink.test.ts
 * installs ports both ways and compares, byte for byte. An update and a removal stay text: they
 * are off the hot path.
 */
import { statSync } from "node:fs";
import {
  encoded, EQ, NEQ, NETLINK_NETFILTER, NF_ACCEPT, NF_DROP, NfWriter, NFPROTO_BRIDGE, NFT_META_L4PROTO, NFT_META_PROTOCOL, NFT_MSG_DELRULE,
  NFT_MSG_NEWCHAIN, NFT_MSG_NEWRULE, NFT_MSG_NEWSET, NFT_MSG_NEWSETELEM, NFT_PAYLOAD_INNER_HEADER as INNER, NFT_PAYLOAD_LL_HEADER as LL,
  NFT_PAYLOAD_NETWORK_HEADER as NET, NFT_PAYLOAD_TRANSPORT_HEADER as L4, NFT_SET_EVAL, NFTA_CHAIN_NAME, NFTA_CHAIN_TABLE, NFTA_RULE_CHAIN,
  NFTA_RULE_EXPRESSIONS, NFTA_RULE_TABLE, NFTA_SET_DESC, NFTA_SET_DESC_SIZE, NFTA_SET_ELEM_LIST_ELEMENTS, NFTA_SET_ELEM_LIST_SET,
  NFTA_SET_ELEM_LIST_TABLE, NFTA_SET_FLAGS, NFTA_SET_ID, NFTA_SET_KEY_LEN, NFTA_SET_KEY_TYPE, NFTA_SET_NAME, NFTA_SET_TABLE, NFTA_SET_USERDATA,
  NLM_F_APPEND, NLM_F_CREATE,
} from "../../../ffi/netlink/nftables.ts";
import { parseAddress } from "./ip.ts";
import { Netlink } from "./netlink.ts";
import { UsageError } from "../../core/errors.ts";
import { checkMac, claimedSet, GUARD_TABLE_NAME, type GuardedPort, macSet, portChain } from "./port-guard-rules.ts";

const macBytes = (m: string) => Uint8Array.from(checkMac(m).split(":"), (h) => parseInt(h, 16));
/** An address's bytes, parsed once (ipaddr.js's parse is most of this file's cost in a cold daemon); UsageError as port-guard-rules.ts's checks give. */
function address(s: string, len: 4 | 16): Uint8Array {
  const a = parseAddress(s).bytes;
  if (a.length !== len) throw new UsageError(`invalid IPv${len === 4 ? 4 : 6} address "${s}"`);
  return a;
}
const be16 = (n: number) => Uint8Array.of(n >> 8, n & 0xff);

// The matches nft puts before a field of a protocol (its dependencies), as it writes them.
const isArp = (w: NfWriter) => w.payload(LL, 12, 2).cmp(EQ, be16(0x0806));
const isIp6Frame = (w: NfWriter) => w.payload(LL, 12, 2).cmp(EQ, be16(0x86dd));
const isIp = (w: NfWriter) => w.meta(NFT_META_PROTOCOL).cmp(EQ, be16(0x0800));
const isIp6 = (w: NfWriter) => w.meta(NFT_META_PROTOCOL).cmp(EQ, be16(0x86dd));
const isUdp = (w: NfWriter) => w.meta(NFT_META_L4PROTO).cmp(EQ, Uint8Array.of(17));
const isIcmp6 = (w: NfWriter) => w.meta(NFT_META_L4PROTO).cmp(EQ, Uint8Array.of(58));
const etherSaddr = (w: NfWriter) => w.payload(LL, 6, 6);

// The rules that are the same on every port, encoded once, on first use: a helper loads this file on
// its way to the start line and installs its port's rules only after it (~0.3 ms interpreted).
const GROUP = Uint8Array.of(1, 0, 0, 0, 0, 0);
type Shared = Record<"GROUP_SOURCE" | "OTHER_ETHERTYPE" | "DHCP_SERVER" | "ROUTER" | "UNSPECIFIED_SOURCE" | "NO_IP6", Uint8Array>;
let shared: Shared | null = null;
const sharedRules = (): Shared => (shared ??= {
  GROUP_SOURCE: encoded((w) => etherSaddr(w).bitwise(GROUP, new Uint8Array(6)).cmp(EQ, GROUP).immediate(NF_DROP)),
  OTHER_ETHERTYPE: encoded((w) => w.payload(LL, 12, 2).lookup("ethertypes", true).immediate(NF_DROP)),
  DHCP_SERVER: encoded((w) => isUdp(w).payload(L4, 0, 2).lookup("dhcp_servers").immediate(NF_DROP)),
  ROUTER: encoded((w) => isIcmp6(isIp6Frame(w)).payload(L4, 0, 1).lookup("router_msgs").immediate(NF_DROP)),
  UNSPECIFIED_SOURCE: encoded((w) => isIcmp6(isIp6(w).payload(NET, 8, 16).cmp(EQ, new Uint8Array(16))).payload(L4, 0, 1).lookup("unspecified_msgs").immediate(NF_ACCEPT)),
  NO_IP6: encoded((w) => isIp6Frame(w).immediate(NF_DROP)),
});

/** `FIELD != v FIELD != a-b ...` (IPv4): each value a comparison, or a range, of its own load, as nft writes them. */
function notAnyIpv4(w: NfWriter, base: number, offset: number, values: string[]): NfWriter {
  for (const v of values) {
    const [from, to, more] = v.split("-") as [string, string | undefined, string | undefined];
    if (more !== undefined) throw new UsageError(`invalid IPv4 range "${v}"`);
    w.payload(base, offset, 4);
    if (to === undefined) w.cmp(NEQ, address(from, 4));
    else w.range(NEQ, address(from, 4), address(to, 4));
  }
  return w;
}

/**
 * The port's MAC in its rules: a pinned port's as a value; a learning port's as its own set (`mac`,
 * made in the same batch, so named by its id too as nft does), which the port learns into unless the
 * MAC is one of the network's `claimed`.
 */
type OwnMac = { mac: Uint8Array } | { set: string; claimed: string };
/** The set id of a learning port's set in its batch (the batch makes no other set). */
const MAC_SET_ID = 1;
/** `FIELD != the port's MAC`. */
const notOwnMac = (w: NfWriter, mine: OwnMac) => ("mac" in mine ? w.cmp(NEQ, mine.mac) : w.lookup(mine.set, true, MAC_SET_ID));

/** portScript's rules for a new port, in its order (port-guard-rules.ts says why each is there): one writer call per rule. */
function portRules(p: GuardedPort, mine: OwnMac): Array<(w: NfWriter) => void> {
  const { GROUP_SOURCE, OTHER_ETHERTYPE, DHCP_SERVER, ROUTER, UNSPECIFIED_SOURCE, NO_IP6 } = sharedRules();
  const rules: Array<(w: NfWriter) => void> = [(w) => w.raw(GROUP_SOURCE), (w) => w.raw(OTHER_ETHERTYPE)];
  if ("set" in mine) {
    rules.push(
      (w) => etherSaddr(w).lookup(mine.claimed).immediate(NF_DROP),
      (w) => etherSaddr(w).dynsetAdd(mine.set, MAC_SET_ID),
    );
  }
  rules.push(
    (w) => notOwnMac(etherSaddr(w), mine).immediate(NF_DROP),
    (w) => notOwnMac(isArp(w).payload(NET, 8, 6), mine).immediate(NF_DROP),
    (w) => w.raw(DHCP_SERVER),
    (w) => w.raw(ROUTER),
  );
  const lease = p.lease;
  if (!lease) return rules;
  const lm = macBytes(lease.mac);
  const own = [lease.ipv4, ...(lease.static ?? [])];
  rules.push(
    (w) => notAnyIpv4(isArp(w), NET, 14, [...own, "0.0.0.0"]).immediate(NF_DROP),
    (w) => isUdp(isIp(w).payload(NET, 12, 4).cmp(EQ, new Uint8Array(4)).payload(NET, 16, 4).cmp(EQ, Uint8Array.of(255, 255, 255, 255)))
      .payload(L4, 0, 4).cmp(EQ, Uint8Array.of(0, 68, 0, 67)).payload(LL, 6, 6).cmp(EQ, lm).payload(INNER, 28, 6).cmp(EQ, lm).immediate(NF_ACCEPT),
    (w) => notAnyIpv4(isIp(w), NET, 12, own).immediate(NF_DROP),
    (w) => w.raw(UNSPECIFIED_SOURCE),
    lease.ipv6.length
      ? (w) => {
        isIp6(w);
        for (const a of lease.ipv6) w.payload(NET, 8, 16).cmp(NEQ, address(a, 16));
        w.immediate(NF_DROP);
      }
      : (w) => w.raw(NO_IP6),
  );
  return rules;
}

function ifindexKey(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true); // iface_index: host order, as meta iif loads it
  return b;
}

/** nft's userdata of an ether_addr set: one TLV (libnftnl's NFTNL_UDATA_SET_KEYBYTEORDER = 0, 4 bytes) saying the key is big-endian (2), in host order. */
const ETHER_SET_USERDATA = (() => {
  const b = new Uint8Array(6);
  b[1] = 4;
  new DataView(b.buffer).setUint32(2, 2, true);
  return b;
})();
const ETHER_ADDR_TYPE = 9; // nft's datatype id of ether_addr (TYPE_ETHERADDR)

/** `add set T NAME { type ether_addr; size 1; flags dynamic; }`, as nft sends it. */
function writeMacSet(w: NfWriter, name: string): void {
  w.begin(NFT_MSG_NEWSET, NLM_F_CREATE, NFPROTO_BRIDGE).str(NFTA_SET_TABLE, GUARD_TABLE_NAME).str(NFTA_SET_NAME, name)
    .be32(NFTA_SET_FLAGS, NFT_SET_EVAL).be32(NFTA_SET_KEY_TYPE, ETHER_ADDR_TYPE).be32(NFTA_SET_KEY_LEN, 6).be32(NFTA_SET_ID, MAC_SET_ID);
  const desc = w.open(NFTA_SET_DESC);
  w.be32(NFTA_SET_DESC_SIZE, 1).close(desc).bytes(NFTA_SET_USERDATA, ETHER_SET_USERDATA).end();
}

/**
 * Writes the batch that installs a new port as portScript(bridge, p) does: a learning port's MAC
 * set, its chain (made, or emptied), a pinned port's MAC claimed, its rules, then the map's element
 * that sends its frames there. No learning set to delete for a pinned port: a new port never had
 * one (ifindexes are not reused). One transaction: all or nothing; a missing table, set or map fails
 * it whole (ENOENT). Returns the seq to be acked.
 */
export function writeNewPort(w: NfWriter, bridge: string, p: GuardedPort): number {
  const t = GUARD_TABLE_NAME;
  const chain = portChain(bridge, p.ifindex);
  const f = NFPROTO_BRIDGE;
  const mac = p.mac === null ? null : macBytes(p.mac);
  const mine: OwnMac = mac ? { mac } : { set: macSet(bridge, p.ifindex), claimed: claimedSet(bridge) };
  const rules = portRules(p, mine); // every value checked before anything is written
  w.batchBegin();
  if ("set" in mine) writeMacSet(w, mine.set);
  w.begin(NFT_MSG_NEWCHAIN, NLM_F_CREATE, f).str(NFTA_CHAIN_TABLE, t).str(NFTA_CHAIN_NAME, chain).end();
  w.begin(NFT_MSG_DELRULE, 0, f).str(NFTA_RULE_TABLE, t).str(NFTA_RULE_CHAIN, chain).end(); // `flush chain`
  if (mac) {
    const claim = w.begin(NFT_MSG_NEWSETELEM, NLM_F_CREATE, f).str(NFTA_SET_ELEM_LIST_TABLE, t).str(NFTA_SET_ELEM_LIST_SET, claimedSet(bridge)).open(NFTA_SET_ELEM_LIST_ELEMENTS);
    w.element(mac).close(claim).end();
  }
  for (const rule of rules) {
    const exprs = w.begin(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, f).str(NFTA_RULE_TABLE, t).str(NFTA_RULE_CHAIN, chain).open(NFTA_RULE_EXPRESSIONS);
    rule(w);
    w.close(exprs).end();
  }
  // The only ack asked for: the kernel reports each message that fails whether asked or not, in order.
  const acked = w.firstSeq + w.count;
  const map = w.begin(NFT_MSG_NEWSETELEM, NLM_F_CREATE, f, 0, true).str(NFTA_SET_ELEM_LIST_TABLE, t).str(NFTA_SET_ELEM_LIST_SET, "ports").open(NFTA_SET_ELEM_LIST_ELEMENTS);
  w.element(ifindexKey(p.ifindex), chain).close(map).end();
  w.batchEnd();
  return acked >>> 0;
}

/**
 * One nfnetlink socket per network namespace, for the process's life (nft.ts's contexts say why:
 * closing an nf_tables socket after a commit waits for its RCU grace period).
 */
const sockets = new Map<number, Netlink>();
function socketHere(): Netlink {
  const ns = statSync("/proc/thread-self/ns/net").ino;
  let nl = sockets.get(ns);
  if (nl === undefined) {
    nl = Netlink.open(NETLINK_NETFILTER);
    sockets.set(ns, nl);
  }
  return nl;
}

/** A made-up port's batch, written and dropped (no I/O): the JIT's warm-up before a daemon's first ADD (cni/warm.ts). */
export function warmNewPort(): void {
  const mac = "02:00:00:00:00:02";
  writeNewPort(new NfWriter(1), "vl-warm", { ifindex: 2, mac, lease: { mac, ipv4: "10.0.0.2", ipv6: ["fe80::2"], static: [] } });
}

/** Installs a new port's rules in one transaction; throws a SyscallError (ENOENT: the table or one of its sets is missing). */
export function installNewPort(bridge: string, p: GuardedPort): void {
  const nl = socketHere();
  const w = new NfWriter(nl.nextSeq);
  const acked = writeNewPort(w, bridge, p);
  nl.sendMany(w.done(), w.count, [acked], `install the rules of port ${p.ifindex} on ${bridge}`);
}
