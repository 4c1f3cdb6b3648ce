/*
 * Traffic generator and sink for `bun run bench datapath`.
 *   traffic gen  (--fd N | --tap NAME | --packet IFNAME) --count C --size S --dst MAC --src MAC [--ipv4 SRC]
 *       sends C Ethernet frames of S bytes, IPv4/UDP from SRC (default 10.98.0.200) to 10.98.0.250
 *       port 9: what a guest sends, so vmlan's port rules let it through from the port's MAC and, where
 *       the port has a lease, from the lease's address; batches of 64 (sendmmsg on a socket, write()
 *       on a TAP); blocking, so the receiver paces it.
 *   traffic sink (--fd N | --tap NAME) [--idle-ms 500]
 *       counts frames until nothing arrived for idle-ms after the first; prints
 *       "frames N bytes B seconds T" where T runs from the first frame to the last.
 *   traffic idle --connect PATH --src MAC
 *       a connected VM that sends nothing but one announcement and reads everything it is sent.
 * --connect PATH: the fd is a unix stream socket connected to PATH with QEMU's stream framing (a
 * 4-byte big-endian length before each frame), as `vmlan switch` clients speak. gen writes 64 framed
 * frames per write(); sink and idle first send one frame from --src so the bridge learns that MAC
 * (a VM's first ARP or DHCP does the same), then count framed frames.
 * --dst may list several MACs (a,b,c): frame i goes to the (i mod n)-th, for several clients at once.
 * The vm->host sink is the kernel's own rx counter of a veth, read by the bench script.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

unsigned int if_nametoindex(const char *ifname); /* <net/if.h>, which clashes with <linux/if.h> */
#define SLOT 2048

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void mac(const char *s, unsigned char *out) {
  unsigned v[6];
  if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) { fprintf(stderr, "bad MAC %s\n", s); exit(2); }
  for (int i = 0; i < 6; i++) out[i] = (unsigned char)v[i];
}

static int open_tap(const char *name) {
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  struct ifreq ifr = {0};
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) { perror("tap"); exit(1); }
  return fd;
}

static int open_stream(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strncpy(sa.sun_path, path, sizeof sa.sun_path - 1);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("connect"); exit(1); }
  return fd;
}

/* Writes all of buf to a blocking stream socket. */
static int write_all(int fd, const unsigned char *buf, size_t n) {
  while (n > 0) {
    ssize_t r = write(fd, buf, n);
    if (r < 0) { if (errno == EINTR) continue; return -1; }
    buf += r;
    n -= (size_t)r;
  }
  return 0;
}

static int open_packet(const char *ifname) {
  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(ifname)};
  if (fd < 0 || sll.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) { perror("packet socket"); exit(1); }
  int big = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  return fd;
}

static char bufs[BATCH][SLOT];

/* RFC 791 header checksum over 20 bytes. */
static unsigned short ip_checksum(const unsigned char *h) {
  unsigned long sum = 0;
  for (int i = 0; i < 20; i += 2) sum += (unsigned)(h[i] << 8 | h[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (unsigned short)~sum;
}

/* EtherType IPv4, an IPv4 header (DF, TTL 64, UDP) and a UDP header (no checksum) after the MACs. */
static void ipv4_udp(unsigned char *f, long size, struct in_addr src) {
  unsigned char *ip = f + 14, *udp = f + 34;
  long ip_len = size - 14, udp_len = size - 34;
  f[12] = 0x08;
  f[13] = 0x00;
  memset(ip, 0, 28);
  ip[0] = 0x45; ip[2] = (unsigned char)(ip_len >> 8); ip[3] = (unsigned char)ip_len; ip[6] = 0x40; ip[8] = 64; ip[9] = 17;
  memcpy(ip + 12, &src.s_addr, 4);
  ip[16] = 10; ip[17] = 98; ip[18] = 0; ip[19] = 250;
  unsigned short c = ip_checksum(ip);
  ip[10] = (unsigned char)(c >> 8);
  ip[11] = (unsigned char)c;
  udp[1] = 9; udp[3] = 9; udp[4] = (unsigned char)(udp_len >> 8); udp[5] = (unsigned char)udp_len;
}
static struct in_addr src_ip;

/* The stream side: gen sends count framed frames; sink/idle announce --src, then count framed frames. */
static int run_stream(int fd, int gen, int idle, long count, long size, const unsigned char *src, char (*frames)[SLOT]) {
  static unsigned char out[BATCH * (SLOT + 4)];
  static unsigned char in[1 << 20];
  if (gen) {
    size_t n = 0;
    for (int i = 0; i < BATCH; i++) {
      uint32_t be = htonl((uint32_t)size);
      memcpy(out + n, &be, 4);
      memcpy(out + n + 4, frames[i], (size_t)size);
      n += 4 + (size_t)size;
    }
    double t0 = now();
    long sent = 0;
    while (sent < count) {
      long want = count - sent < BATCH ? count - sent : BATCH;
      if (write_all(fd, out, (size_t)want * (4 + (size_t)size)) < 0) { perror("write"); return 1; }
      sent += want;
    }
    printf("frames %ld bytes %ld seconds %.6f\n", sent, sent * size, now() - t0);
    return 0;
  }
  unsigned char hello[4 + 60] = {0, 0, 0, 60, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  memcpy(hello + 10, src, 6);
  ipv4_udp(hello + 4, 60, src_ip);
  write_all(fd, hello, sizeof hello);
  long frames_n = 0, bytes = 0, idle_ms = 500;
  double first = 0, last = 0;
  size_t have = 0, off = 0;
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  for (;;) {
    if (!idle && frames_n && poll(&pfd, 1, (int)idle_ms) == 0) break;
    ssize_t r = read(fd, in + have, sizeof in - have);
    if (r <= 0) break;
    have += (size_t)r;
    long got = 0;
    while (have - off >= 4) {
      uint32_t len;
      memcpy(&len, in + off, 4);
      len = ntohl(len);
      if (have - off - 4 < len) break;
      got++;
      bytes += len;
      off += 4 + len;
    }
    memmove(in, in + off, have - off);
    have -= off;
    off = 0;
    if (got) {
      last = now();
      if (!frames_n) first = last;
      frames_n += got;
    }
  }
  printf("frames %ld bytes %ld seconds %.6f\n", frames_n, bytes, last - first);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: traffic gen|sink ...\n"); return 2; }
  int gen = !strcmp(argv[1], "gen"), idle = !strcmp(argv[1], "idle");
  int fd = -1, is_tap = 0, stream = 0, ndst = 0;
  long count = 100000, size = 1500, idle_ms = 500;
  unsigned char dst[8][6] = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, src[6] = {0x02, 0, 0, 0, 0, 1};
  for (int i = 2; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--fd")) fd = atoi(v);
    else if (!strcmp(k, "--tap")) { fd = open_tap(v); is_tap = 1; }
    else if (!strcmp(k, "--packet")) fd = open_packet(v);
    else if (!strcmp(k, "--connect")) { fd = open_stream(v); stream = 1; }
    else if (!strcmp(k, "--count")) count = atol(v);
    else if (!strcmp(k, "--size")) size = atol(v);
    else if (!strcmp(k, "--idle-ms")) idle_ms = atol(v);
    else if (!strcmp(k, "--dst")) {
      for (const char *m = v; m && ndst < 8; m = strchr(m, ',')) { if (*m == ',') m++; mac(m, dst[ndst++]); }
    }
    else if (!strcmp(k, "--src")) mac(v, src);
    else if (!strcmp(k, "--ipv4") && inet_pton(AF_INET, v, &src_ip) != 1) { fprintf(stderr, "bad IPv4 %s\n", v); return 2; }
  }
  if (!src_ip.s_addr) inet_pton(AF_INET, "10.98.0.200", &src_ip);
  if (fd < 0 || size < 42 || size > SLOT - 4) { fprintf(stderr, "traffic: need --fd/--tap/--packet and 42 <= size <= %d\n", SLOT); return 2; }
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = gen ? (size_t)size : SLOT;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    memcpy(bufs[i], dst[ndst ? i % ndst : 0], 6);
    memcpy(bufs[i] + 6, src, 6);
    ipv4_udp((unsigned char *)bufs[i], size, src_ip);
  }
  printf("ready\n");
  fflush(stdout);
  if (stream) return run_stream(fd, gen, idle, count, size, src, bufs);
  if (gen) {
    double t0 = now();
    long sent = 0;
    while (sent < count) {
      int want = count - sent < BATCH ? (int)(count - sent) : BATCH;
      if (is_tap) {
        for (int i = 0; i < want; i++) if (write(fd, bufs[i], size) == size) sent++;
        continue;
      }
      int r = sendmmsg(fd, msgs, want, 0);
      if (r > 0) sent += r;
      else if (errno == ENOBUFS) usleep(50);
      else if (errno != EINTR) { perror("sendmmsg"); return 1; }
    }
    printf("frames %ld bytes %ld seconds %.6f\n", sent, sent * size, now() - t0);
    return 0;
  }
  long frames = 0, bytes = 0;
  double first = 0, last = 0;
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  for (;;) {
    int n;
    if (is_tap) {
      n = 0;
      ssize_t r;
      while (n < BATCH && (r = read(fd, bufs[0], SLOT)) > 0) { n++; bytes += r; }
    } else {
      n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
      for (int i = 0; i < n; i++) bytes += msgs[i].msg_len;
    }
    if (n > 0) {
      last = now();
      if (!frames) first = last;
      frames += n;
      continue;
    }
    if (poll(&pfd, 1, (int)idle_ms) == 0 && frames) break;
  }
  printf("frames %ld bytes %ld seconds %.6f\n", frames, bytes, last - first);
  return 0;
}
