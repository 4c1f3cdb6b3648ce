/**
 * The offload rules on crafted frames (src/datapath/offload): what goes to the kernel with which
 * virtio-net header, and what reaches the VM, checked with the test's own checksum code
 * (test/support/offload-frames.ts). The kernel's own verdict on the same rules is in
 * test/integration/helper/offload.test.ts (a real TCP stream; the VM kernel counts bad checksums).
 */
import { describe, expect, test } from "bun:test";
import { FrameBatch } from "../../../src/datapath/port.ts";
import { sumBytes, fold } from "../../../src/datapath/offload/checksum.ts";
import { FrameHeaders } from "../../../src/datapath/offload/headers.ts";
import { prepareForHost } from "../../../src/datapath/offload/to-host.ts";
import { finishForVm } from "../../../src/datapath/offload/to-vm.ts";
import { VNET_HDR_LEN, VNET_HEADROOM } from "../../../src/datapath/offload/vnet-header.ts";
import { completeLikeKernel, frame, ipv4HeaderOk, l4ChecksumOk, onesSum, parse, type FrameSpec } from "../../support/offload-frames.ts";

const MTU = 1500;
const batch = new FrameBatch(2, 65600, VNET_HEADROOM);
const h = new FrameHeaders();

function toHost(f: Uint8Array) {
  const at = batch.frameOffset(0);
  batch.bytes.set(f, at);
  const n = prepareForHost(batch, at, f.length, MTU, h);
  const v = batch.view, hd = at - VNET_HDR_LEN;
  return {
    n, out: batch.bytes.slice(at, at + Math.max(n, 0)),
    hdr: { flags: v.getUint8(hd), gsoType: v.getUint8(hd + 1), hdrLen: v.getUint16(hd + 2, true), gsoSize: v.getUint16(hd + 4, true), csumStart: v.getUint16(hd + 6, true), csumOffset: v.getUint16(hd + 8, true) },
  };
}

function toVm(f: Uint8Array, hdr: { flags?: number; csumStart?: number; csumOffset?: number } = {}) {
  const at = batch.frameOffset(1);
  batch.bytes.fill(0, at - VNET_HDR_LEN, at);
  batch.bytes.set(f, at);
  batch.view.setUint8(at - VNET_HDR_LEN, hdr.flags ?? 0);
  batch.view.setUint16(at - 4, hdr.csumStart ?? 0, true);
  batch.view.setUint16(at - 2, hdr.csumOffset ?? 0, true);
  const ok = finishForVm(batch, at, f.length, h);
  return { ok, out: batch.bytes.slice(at, at + f.length) };
}

describe("the checksum loop", () => {
  test("agrees with a byte-by-byte sum at every alignment and length", () => {
    const data = new Uint8Array(5000).map((_, i) => (i * 7919 + 13) & 0xff);
    const b = new FrameBatch(1, 8192);
    b.bytes.set(data, 0);
    for (const start of [0, 1, 2, 3, 4, 6, 34, 35]) {
      for (const end of [start, start + 1, start + 2, start + 3, start + 5, start + 31, start + 32, start + 33, start + 64, start + 1499, 5000]) {
        expect(fold(sumBytes(b.bytes, b.words, start, end))).toBe(onesSum(data.subarray(start, end)));
      }
    }
  });

  test("is exact for the largest sum: a 64 KiB segment of 0xff bytes and its neighbours", () => {
    const size = 65536 + 64;
    const b = new FrameBatch(1, size);
    b.bytes.fill(0xff, 0, size);
    for (const [start, end] of [[0, 65536], [2, 65536 + 40], [4, size], [0, 65535]]) {
      expect(fold(sumBytes(b.bytes, b.words, start!, end!))).toBe(onesSum(b.bytes.subarray(start, end)));
    }
  });
});

describe("toward the host (VM frames to an offload TAP)", () => {
  const completed = (r: ReturnType<typeof toHost>) => completeLikeKernel(r.out, r.hdr.csumStart, r.hdr.csumOffset);

  for (const spec of [
    { name: "IPv4 TCP", s: {} },
    { name: "IPv4 UDP", s: { proto: "udp" } },
    { name: "IPv6 TCP", s: { v6: true } },
    { name: "IPv6 UDP", s: { v6: true, proto: "udp" } },
    { name: "one VLAN tag", s: { vlans: [0x8100] } },
    { name: "802.1ad + 802.1Q tags, IPv6", s: { vlans: [0x88a8, 0x8100], v6: true } },
    { name: "IPv6 hop-by-hop and destination options", s: { v6: true, ext: [0, 60] } },
    { name: "IPv6 routing header with a segment left (final destination in the pseudo-header)", s: { v6: true, ext: [43] } },
  ] as Array<{ name: string; s: FrameSpec }>) {
    test(`${spec.name}, partial checksum: NEEDS_CSUM over the pseudo-header; the kernel's completion verifies`, () => {
      const r = toHost(frame({ ...spec.s, csum: "partial" }));
      const p = parse(r.out);
      expect(r.n).toBe(p.end);
      expect(r.hdr).toMatchObject({ flags: 1, gsoType: 0, csumStart: p.l4, csumOffset: p.proto === 6 ? 16 : 6 });
      expect(l4ChecksumOk(completed(r))).toBe(true);
    });
  }

  test("a frame whose checksum was complete, or wrong, is recomputed all the same", () => {
    for (const csum of ["full", "bad"] as const) {
      const r = toHost(frame({ csum }));
      expect(l4ChecksumOk(completed(r))).toBe(true);
    }
  });

  test("a 64 KiB IPv4 TCP frame goes as TSO: gso_size fills the MTU, hdr_len covers the headers", () => {
    const r = toHost(frame({ payload: 65000, csum: "partial" }));
    expect(r.n).toBe(14 + 20 + 20 + 65000);
    expect(r.hdr).toEqual({ flags: 1, gsoType: 1, hdrLen: 54, gsoSize: 1460, csumStart: 34, csumOffset: 16 });
    expect(l4ChecksumOk(completed(r))).toBe(true);
  });

  test("IPv6 TSO behind a VLAN tag and extension headers; CWR sets the ECN bit", () => {
    const r = toHost(frame({ v6: true, vlans: [0x8100], ext: [0, 60], payload: 30000, tcpFlags: 0x80 | 0x10 }));
    expect(r.hdr).toMatchObject({ flags: 1, gsoType: 4 | 0x80, hdrLen: 18 + 40 + 16 + 20, gsoSize: 1500 - 40 - 16 - 20, csumStart: 18 + 56 });
  });

  test("a large IPv4 UDP datagram goes as UFO (fragments of multiples of 8); IPv6's is dropped", () => {
    expect(toHost(frame({ proto: "udp", payload: 9000 })).hdr).toMatchObject({ gsoType: 3, gsoSize: 1480, hdrLen: 42 });
    expect(toHost(frame({ proto: "udp", v6: true, payload: 9000 })).n).toBe(-1);
  });

  test("the IPv4 header checksum is recomputed, Ethernet padding is cut off", () => {
    const f = frame({ proto: "udp", payload: 4, ipv4HeaderCsum: "bad", padding: 14 });
    const r = toHost(f);
    expect(r.n).toBe(f.length - 14);
    expect(ipv4HeaderOk(r.out)).toBe(true);
  });

  test("fragments, ICMP and non-IP frames pass as they are (header cleared, L4 untouched)", () => {
    for (const s of [{ fragment: 0x2000, csum: "partial" }, { v6: true, fragment: 0x0001 }, { proto: "icmp" }, { v6: true, proto: "icmp" }] as FrameSpec[]) {
      const f = frame(s);
      const r = toHost(f);
      expect(r.n).toBe(f.length);
      expect(r.hdr).toEqual({ flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 });
      const p = parse(f);
      expect([...r.out.subarray(p.l4)]).toEqual([...f.subarray(p.l4)]);
    }
    const arp = new Uint8Array(42);
    arp[12] = 0x08; arp[13] = 0x06;
    expect(toHost(arp).n).toBe(42);
  });

  test("malformed or unsendable frames are dropped", () => {
    const cut = (f: Uint8Array, n: number) => f.slice(0, f.length - n);
    const bad: Array<[string, Uint8Array]> = [
      ["shorter than its IPv4 total length", cut(frame({}), 1)],
      ["shorter than its IPv6 payload length", cut(frame({ v6: true }), 1)],
      ["TCP data offset past the end", (() => { const f = frame({ payload: 0 }); f[14 + 20 + 12] = 15 << 4; return f; })()],
      ["UDP length that disagrees with IP's", (() => { const f = frame({ proto: "udp" }); f[14 + 20 + 5]! += 1; return f; })()],
      ["IPv4 header length under 20", (() => { const f = frame({}); f[14] = 0x44; return f; })()],
      ["an ICMP packet over the MTU", frame({ proto: "icmp", payload: 3000 })],
      ["a fragment over the MTU", frame({ fragment: 0x2000, payload: 3000 })],
      ["a non-IP frame over the MTU", (() => { const f = new Uint8Array(3000); f[12] = 0x88; f[13] = 0xb5; return f; })()],
      ["a truncated VLAN tag", Uint8Array.from([...frame({}).subarray(0, 12), 0x81, 0x00, 0, 1])],
    ];
    for (const [name, f] of bad) expect({ name, n: toHost(f).n }).toEqual({ name, n: -1 });
  });
});

describe("toward the VM (frames from an offload TAP)", () => {
  test("NEEDS_CSUM is completed, for a 64 KiB TSO frame too", () => {
    for (const s of [{}, { proto: "udp" }, { v6: true }, { v6: true, ext: [43] }, { vlans: [0x8100] }, { payload: 65000 }] as FrameSpec[]) {
      const f = frame({ ...s, csum: "partial" });
      const p = parse(f);
      const r = toVm(f, { flags: 1, csumStart: p.l4, csumOffset: p.proto === 6 ? 16 : 6 });
      expect(r.ok).toBe(true);
      expect(l4ChecksumOk(r.out)).toBe(true);
    }
  });

  test("without a verdict, checksums are verified: good ones pass unchanged, bad ones are dropped", () => {
    for (const s of [{}, { proto: "udp" }, { v6: true }, { v6: true, proto: "udp", ext: [0] }, { vlans: [0x88a8, 0x8100] }] as FrameSpec[]) {
      const good = frame(s);
      const r = toVm(good);
      expect(r.ok).toBe(true);
      expect(r.out).toEqual(good);
      expect(toVm(frame({ ...s, csum: "bad" })).ok).toBe(false);
    }
  });

  test("DATA_VALID is trusted; IPv4 UDP without a checksum passes, IPv6 UDP without one does not", () => {
    expect(toVm(frame({ csum: "bad" }), { flags: 2 }).ok).toBe(true);
    expect(toVm(frame({ proto: "udp", csum: "zero" })).ok).toBe(true);
    expect(toVm(frame({ proto: "udp", v6: true, csum: "zero" })).ok).toBe(false);
  });

  test("a bad IPv4 header checksum, a checksum offset past the frame, or broken lengths drop the frame", () => {
    expect(toVm(frame({ ipv4HeaderCsum: "bad" })).ok).toBe(false);
    const f = frame({});
    expect(toVm(f, { flags: 1, csumStart: f.length - 4, csumOffset: 16 }).ok).toBe(false);
    expect(toVm(f.slice(0, f.length - 3)).ok).toBe(false);
  });

  test("fragments and ICMP pass as they are", () => {
    for (const s of [{ fragment: 0x2000, csum: "bad" }, { proto: "icmp" }, { v6: true, fragment: 1, csum: "bad" }] as FrameSpec[]) {
      const f = frame(s);
      expect(toVm(f)).toEqual({ ok: true, out: f });
    }
  });
});
