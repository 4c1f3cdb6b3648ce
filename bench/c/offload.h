/*
 * The offload rules of the C reference (bench/c/offload-forwarder.c), the same as
 * src/datapath/offload/: a frame's headers walked (up to two VLAN tags, IPv4 or IPv6 with hop-by-hop,
 * routing and destination options headers), then
 *   toward the host: IPv4 header checksum recomputed, TCP/UDP checksum left to the kernel
 *     (VIRTIO_NET_HDR_F_NEEDS_CSUM over the pseudo-header sum), frames over the MTU as GSO;
 *   toward the VM: NEEDS_CSUM completed, frames without a verdict checked, bad ones dropped.
 */
#include <linux/virtio_net.h>
#include <stdint.h>
#include <string.h>

enum { OFF_PASS = 0, OFF_L4 = 1, OFF_BAD = -1 };

struct hdrs {
  int l3, l4, end;  /* offsets of the IP header, the TCP/UDP header, the end of the IP packet */
  int type, v6, proto, l4hdr;  /* EtherType after the tags; TCP or UDP header length */
  uint32_t pseudo;  /* the pseudo-header sum (not folded) */
};

static inline unsigned be16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }

/* The one's complement sum of [p, p+n) as big-endian 16-bit words, not folded. */
static inline uint64_t csum_add(uint64_t s, const uint8_t *p, int n) {
  while (n >= 4) { uint32_t w; memcpy(&w, p, 4); s += __builtin_bswap32(w); p += 4; n -= 4; }
  if (n >= 2) { s += be16(p); p += 2; n -= 2; }
  if (n) s += (uint64_t)p[0] << 8;
  return s;
}
static inline unsigned csum_fold(uint64_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (unsigned)s;
}

/* OFF_L4: TCP or UDP, offsets filled; OFF_PASS: not for offload (not IP, fragment, other protocol); OFF_BAD: malformed. */
static int parse(const uint8_t *f, int len, struct hdrs *h) {
  if (len < 14) return OFF_BAD;
  int off = 12;
  unsigned type = be16(f + off);
  for (int tags = 0; (type == 0x8100 || type == 0x88a8) && tags < 2; tags++) {
    if (len < off + 6) return OFF_BAD;
    off += 4;
    type = be16(f + off);
  }
  off += 2;
  h->l3 = off;
  h->type = (int)type;
  const uint8_t *dst;
  if (type == 0x0800) {
    if (len < off + 20 || f[off] >> 4 != 4) return OFF_BAD;
    int ihl = (f[off] & 15) * 4, tot = (int)be16(f + off + 2);
    if (ihl < 20 || tot < ihl || off + tot > len) return OFF_BAD;
    h->v6 = 0;
    h->end = off + tot;
    h->l4 = off + ihl;
    h->proto = f[off + 9];
    if (be16(f + off + 6) & 0x3fff) return OFF_PASS; /* a fragment: MF or an offset */
    dst = f + off + 16;
    h->pseudo = csum_add(csum_add(0, f + off + 12, 4), dst, 4);
  } else if (type == 0x86dd) {
    if (len < off + 40 || f[off] >> 4 != 6) return OFF_BAD;
    int plen = (int)be16(f + off + 4);
    if (plen == 0 || off + 40 + plen > len) return OFF_BAD;
    h->v6 = 1;
    h->end = off + 40 + plen;
    dst = f + off + 24;
    int nh = f[off + 6], p = off + 40;
    while (nh == 0 || nh == 43 || nh == 60) {
      if (p + 8 > h->end) return OFF_BAD;
      int hl = (f[p + 1] + 1) * 8;
      if (p + hl > h->end) return OFF_BAD;
      if (nh == 43 && f[p + 3] > 0) { /* segments left: the pseudo-header has the final destination */
        int rt = f[p + 2], n = f[p + 1] / 2;
        if ((rt == 0 || rt == 2) && n > 0) dst = f + p + 8 + 16 * (n - 1);
        else if (rt == 4 && n > 0) dst = f + p + 8;
        else return OFF_PASS;
      }
      nh = f[p];
      p += hl;
    }
    h->l4 = p;
    h->proto = nh;
    if (nh == 44) return OFF_PASS;
    h->pseudo = csum_add(csum_add(0, f + off + 8, 16), dst, 16);
  } else return OFF_PASS;
  int l4len = h->end - h->l4;
  if (h->proto == 6) {
    if (l4len < 20) return OFF_BAD;
    h->l4hdr = (f[h->l4 + 12] >> 4) * 4;
    if (h->l4hdr < 20 || h->l4hdr > l4len) return OFF_BAD;
  } else if (h->proto == 17) {
    if (l4len < 8 || (int)be16(f + h->l4 + 4) != l4len) return OFF_BAD;
    h->l4hdr = 8;
  } else return OFF_PASS;
  h->pseudo += (uint32_t)h->proto + (uint32_t)l4len;
  return OFF_L4;
}

static void ipv4_header_checksum(uint8_t *f, int l3) {
  int ihl = (f[l3] & 15) * 4;
  f[l3 + 10] = f[l3 + 11] = 0;
  unsigned c = ~csum_fold(csum_add(0, f + l3, ihl)) & 0xffff;
  f[l3 + 10] = (uint8_t)(c >> 8);
  f[l3 + 11] = (uint8_t)c;
}

/* VM -> host: fills *vh for the frame at f; returns the length to write (trimmed to the IP packet) or -1. */
static int to_host(uint8_t *f, int len, int mtu, struct virtio_net_hdr *vh) {
  struct hdrs h;
  memset(vh, 0, sizeof *vh);
  int r = parse(f, len, &h);
  if (r == OFF_BAD) return -1;
  if (h.type != 0x0800 && h.type != 0x86dd) return len > h.l3 + mtu ? -1 : len;
  if (!h.v6) ipv4_header_checksum(f, h.l3);
  int ip = h.end - h.l3;
  if (r == OFF_PASS) return ip > mtu ? -1 : h.end;
  int co = h.proto == 6 ? 16 : 6;
  unsigned ps = csum_fold(h.pseudo);
  f[h.l4 + co] = (uint8_t)(ps >> 8);
  f[h.l4 + co + 1] = (uint8_t)ps;
  vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  vh->csum_start = (uint16_t)h.l4;
  vh->csum_offset = (uint16_t)co;
  if (ip > mtu) {
    int hl = h.l4 - h.l3 + h.l4hdr;
    if (hl + 8 > mtu) return -1;
    if (h.proto == 6) {
      vh->gso_type = (h.v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4) | ((f[h.l4 + 13] & 0x80) ? VIRTIO_NET_HDR_GSO_ECN : 0);
      vh->gso_size = (uint16_t)(mtu - hl);
    } else {
      if (h.v6) return -1;
      vh->gso_type = VIRTIO_NET_HDR_GSO_UDP;
      vh->gso_size = (uint16_t)((mtu - (h.l4 - h.l3)) & ~7);
    }
    vh->hdr_len = (uint16_t)(h.l3 + hl);
  }
  return h.end;
}

/* host -> VM: completes or checks the frame's checksums; 0 to send, -1 to drop. */
static int to_vm(uint8_t *f, int len, const struct virtio_net_hdr *vh) {
  struct hdrs h;
  int r = parse(f, len, &h);
  if (r == OFF_BAD) return -1;
  if (h.type == 0x0800 && csum_fold(csum_add(0, f + h.l3, (f[h.l3] & 15) * 4)) != 0xffff) return -1;
  if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
    int cs = vh->csum_start, co = vh->csum_offset;
    if (cs + co + 2 > len) return -1;
    unsigned c = ~csum_fold(csum_add(0, f + cs, len - cs)) & 0xffff;
    if (c == 0 && co == 6) c = 0xffff;
    f[cs + co] = (uint8_t)(c >> 8);
    f[cs + co + 1] = (uint8_t)c;
    return 0;
  }
  if (vh->flags & VIRTIO_NET_HDR_F_DATA_VALID || r != OFF_L4) return 0;
  if (h.proto == 17 && !h.v6 && be16(f + h.l4 + 6) == 0) return 0; /* IPv4 UDP without a checksum */
  return csum_fold(csum_add(h.pseudo, f + h.l4, h.end - h.l4)) == 0xffff ? 0 : -1;
}
