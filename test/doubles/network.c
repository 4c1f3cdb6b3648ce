/*
 * The macOS 26 network-object API (native-facts §A 5.4, §B): configurations and networks are
 * reference-counted objects released with CFRelease. A network reserves its IPv4 subnet for its
 * lifetime; a second network on an overlapping subnet gets VMNET_SHARING_SERVICE_BUSY (1009), as
 * another owner of the subnet would cause on macOS. vmnet_network_copy_serialization returns this
 * double's own plain-data dictionary (the real content is undocumented, see docs/macos.md);
 * create_with_serialization joins the same reservation when the network is still alive in-process.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "double.h"

#define MAX_RESERVATIONS 64
struct vmnet_network_configuration {
  uint32_t magic;
  vmnet_mode_t mode;
  bool dhcp, nat44, nat66, dns_proxy, has_v4, has_v6;
  bool used; /* a network was created from it: its reservations may no longer change */
  int nreserved;
  struct { uint8_t mac[6]; struct in_addr addr; } reserved[MAX_RESERVATIONS];
  struct in_addr addr, mask;
  struct in6_addr prefix;
  uint8_t prefix_len;
  uint32_t mtu;
};
struct double_network {
  uint32_t magic;
  int refs;
  int resfd; /* the cross-process reservation (reservations.c), -1 when per process */
  uint8_t uuid[16];
  struct vmnet_network_configuration cfg; /* has_v4/has_v6 always true once created */
  struct double_network *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct double_network *live;
static bool mach_in_serialization;

xpc_object_t vmnet_double_mach_send_create(void);
/* Double-only: make serializations carry a Mach send right, to test the "only XPC can move it" path. */
void vmnet_double_set_serialization_mach(bool on) { mach_in_serialization = on; }

static void set_status(vmnet_return_t *status, vmnet_return_t v) { if (status) *status = v; }
static struct vmnet_network_configuration *cfg_ok(vmnet_network_configuration_ref c, const char *fn) {
  if (!c || c->magic != MAGIC_CONFIG) { double_violation("%s: not a vmnet_network_configuration_ref (%p)", fn, (void *)c); return NULL; }
  return c;
}
bool double_config_ok(vmnet_network_configuration_ref c, const char *fn) { return cfg_ok(c, fn) != NULL; }
static struct double_network *net_ok(vmnet_network_ref n, const char *fn) {
  struct double_network *d = (struct double_network *)n;
  if (!d || d->magic != MAGIC_NETWORK || d->refs <= 0) { double_violation("%s: not a live vmnet_network_ref (%p)", fn, (void *)n); return NULL; }
  return d;
}

vmnet_network_configuration_ref vmnet_network_configuration_create(vmnet_mode_t mode, vmnet_return_t *status) {
  if (mode != VMNET_HOST_MODE && mode != VMNET_SHARED_MODE) {
    set_status(status, VMNET_INVALID_ARGUMENT); /* documented: shared or host-only */
    return NULL;
  }
  struct vmnet_network_configuration *c = calloc(1, sizeof *c);
  *c = (struct vmnet_network_configuration){.magic = MAGIC_CONFIG, .mode = mode, .dhcp = true, .nat44 = true, .nat66 = true, .dns_proxy = true, .mtu = 1500};
  set_status(status, VMNET_SUCCESS);
  return c;
}
void vmnet_network_configuration_disable_dhcp(vmnet_network_configuration_ref c) { if (cfg_ok(c, __func__)) c->dhcp = false; }
void vmnet_network_configuration_disable_nat44(vmnet_network_configuration_ref c) { if (cfg_ok(c, __func__)) c->nat44 = false; }
void vmnet_network_configuration_disable_nat66(vmnet_network_configuration_ref c) { if (cfg_ok(c, __func__)) c->nat66 = false; }
void vmnet_network_configuration_disable_dns_proxy(vmnet_network_configuration_ref c) { if (cfg_ok(c, __func__)) c->dns_proxy = false; }

/* Apple: "The framework doesn't allow modifying reservation while a network is active." */
vmnet_return_t vmnet_network_configuration_add_dhcp_reservation(vmnet_network_configuration_ref c, const ether_addr_t *mac, const struct in_addr *addr) {
  if (!cfg_ok(c, __func__)) return VMNET_INVALID_ARGUMENT;
  if (!mac || !addr) return double_violation("%s: NULL client or address", __func__);
  if (c->used) return double_violation("%s: a network was created from this configuration; reservations cannot change while it is active", __func__);
  uint32_t m = ntohl(c->mask.s_addr);
  if (c->has_v4 && (ntohl(addr->s_addr) & m) != (ntohl(c->addr.s_addr) & m)) return VMNET_INVALID_ARGUMENT; /* outside the subnet */
  if (c->nreserved == MAX_RESERVATIONS) return VMNET_INVALID_ARGUMENT;
  memcpy(c->reserved[c->nreserved].mac, mac->octet, 6);
  c->reserved[c->nreserved++].addr = *addr;
  return VMNET_SUCCESS;
}

vmnet_return_t vmnet_network_configuration_set_ipv4_subnet(vmnet_network_configuration_ref c, const struct in_addr *addr, const struct in_addr *mask) {
  if (!cfg_ok(c, __func__)) return VMNET_INVALID_ARGUMENT;
  if (!addr || !mask) return double_violation("%s: NULL address or mask", __func__);
  uint32_t m = ntohl(mask->s_addr), a = ntohl(addr->s_addr);
  if (m == 0 || (m | (m - 1)) != 0xffffffffu) return double_violation("%s: mask %08x is not contiguous", __func__, m);
  if ((a & ~m) == 0) return double_violation("%s: pass the gateway address (network + 1) as apple/container does, not the network address", __func__);
  c->addr = *addr;
  c->mask = *mask;
  c->has_v4 = true;
  return VMNET_SUCCESS;
}
vmnet_return_t vmnet_network_configuration_set_ipv6_prefix(vmnet_network_configuration_ref c, const struct in6_addr *prefix, uint8_t len) {
  if (!cfg_ok(c, __func__)) return VMNET_INVALID_ARGUMENT;
  if (!prefix) return double_violation("%s: NULL prefix", __func__);
  if (len < 1 || len > 128) return double_violation("%s: prefix length %u", __func__, len);
  c->prefix = *prefix;
  c->prefix_len = len;
  c->has_v6 = true;
  return VMNET_SUCCESS;
}
vmnet_return_t vmnet_network_configuration_set_mtu(vmnet_network_configuration_ref c, uint32_t mtu) {
  if (!cfg_ok(c, __func__)) return VMNET_INVALID_ARGUMENT;
  if (mtu < 576 || mtu > 16384) return VMNET_INVALID_ARGUMENT;
  c->mtu = mtu;
  return VMNET_SUCCESS;
}

static bool overlaps(const struct vmnet_network_configuration *a, const struct vmnet_network_configuration *b) {
  uint32_t m = ntohl(a->mask.s_addr) & ntohl(b->mask.s_addr);
  return (ntohl(a->addr.s_addr) & m) == (ntohl(b->addr.s_addr) & m);
}

/*
 * Takes `lock`. Joins a live network with the same UUID, else reserves a new one: in this process,
 * and system-wide when reservations are shared (VMLAN_DOUBLE_STATE_DIR): a network another process
 * reserves is joined by its UUID (create_with_serialization), an overlapping one is busy.
 */
static struct double_network *reserve(const struct vmnet_network_configuration *cfg, const uint8_t *uuid, vmnet_return_t *status) {
  pthread_mutex_lock(&lock);
  for (struct double_network *n = live; n; n = n->next) {
    if (uuid && memcmp(n->uuid, uuid, 16) == 0) { n->refs++; pthread_mutex_unlock(&lock); set_status(status, VMNET_SUCCESS); return n; }
    if (overlaps(&n->cfg, cfg)) { pthread_mutex_unlock(&lock); set_status(status, VMNET_SHARING_SERVICE_BUSY); return NULL; }
  }
  uint8_t id[16];
  if (uuid) memcpy(id, uuid, 16);
  else if (getrandom(id, 16, 0) != 16) memset(id, 0x42, 16);
  int fd = double_reservation_take(cfg->addr.s_addr, cfg->mask.s_addr, id);
  if (fd == -1) { pthread_mutex_unlock(&lock); set_status(status, VMNET_SHARING_SERVICE_BUSY); return NULL; }
  struct double_network *n = calloc(1, sizeof *n);
  n->magic = MAGIC_NETWORK;
  n->refs = 1;
  n->resfd = fd;
  n->cfg = *cfg;
  memcpy(n->uuid, id, 16);
  n->next = live;
  live = n;
  pthread_mutex_unlock(&lock);
  set_status(status, VMNET_SUCCESS);
  return n;
}

vmnet_network_ref vmnet_network_create(vmnet_network_configuration_ref c, vmnet_return_t *status) {
  if (!cfg_ok(c, __func__)) { set_status(status, VMNET_INVALID_ARGUMENT); return NULL; }
  c->used = true;
  struct vmnet_network_configuration cfg = *c;
  if (!cfg.has_v4) { /* documented default: a /24 under 192.168/16 (the first free one) */
    cfg.mask.s_addr = htonl(0xffffff00u);
    for (uint32_t third = 64; third < 255; third++) {
      cfg.addr.s_addr = htonl(0xc0a80001u | third << 8);
      bool busy = false;
      pthread_mutex_lock(&lock);
      for (struct double_network *n = live; n; n = n->next) busy |= overlaps(&n->cfg, &cfg);
      pthread_mutex_unlock(&lock);
      if (!busy) break;
    }
  }
  if (!cfg.has_v6) { /* documented default: a random ULA /64 */
    memset(&cfg.prefix, 0, sizeof cfg.prefix);
    cfg.prefix.s6_addr[0] = 0xfd;
    if (getrandom(&cfg.prefix.s6_addr[1], 7, 0) != 7) memset(&cfg.prefix.s6_addr[1], 0x11, 7);
    cfg.prefix_len = 64;
  }
  cfg.has_v4 = cfg.has_v6 = true;
  struct double_network *net = reserve(&cfg, NULL, status);
  if (net) double_forwards_commit(c, net, &cfg.addr, &cfg.mask, &cfg.prefix, cfg.prefix_len);
  return (vmnet_network_ref)net;
}

void vmnet_network_get_ipv4_subnet(vmnet_network_ref n, struct in_addr *subnet, struct in_addr *mask) {
  struct double_network *d = net_ok(n, __func__);
  if (!d) return;
  if (!subnet || !mask) { double_violation("%s: NULL output", __func__); return; }
  uint32_t m = ntohl(d->cfg.mask.s_addr);
  subnet->s_addr = htonl((ntohl(d->cfg.addr.s_addr) & m) + 1); /* the gateway-style address, as vmnet reports it */
  *mask = d->cfg.mask;
}
void vmnet_network_get_ipv6_prefix(vmnet_network_ref n, struct in6_addr *prefix, uint8_t *len) {
  struct double_network *d = net_ok(n, __func__);
  if (!d) return;
  if (!prefix || !len) { double_violation("%s: NULL output", __func__); return; }
  *prefix = d->cfg.prefix; /* reported as the network prefix: host bits cleared */
  for (int b = d->cfg.prefix_len; b < 128; b++) prefix->s6_addr[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
  *len = d->cfg.prefix_len;
}

xpc_object_t vmnet_network_copy_serialization(vmnet_network_ref n, vmnet_return_t *status) {
  struct double_network *d = net_ok(n, __func__);
  if (!d) { set_status(status, VMNET_INVALID_ARGUMENT); return NULL; }
  char a[INET_ADDRSTRLEN], m[INET_ADDRSTRLEN], p[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET, &d->cfg.addr, a, sizeof a);
  inet_ntop(AF_INET, &d->cfg.mask, m, sizeof m);
  inet_ntop(AF_INET6, &d->cfg.prefix, p, sizeof p);
  xpc_object_t s = xpc_dictionary_create(NULL, NULL, 0);
  xpc_dictionary_set_uint64(s, "double_version", 1);
  xpc_dictionary_set_uuid(s, "network_uuid", d->uuid);
  xpc_dictionary_set_uint64(s, "mode", d->cfg.mode);
  xpc_dictionary_set_string(s, "ipv4_address", a);
  xpc_dictionary_set_string(s, "ipv4_mask", m);
  xpc_dictionary_set_string(s, "ipv6_prefix", p);
  xpc_dictionary_set_uint64(s, "ipv6_prefix_len", d->cfg.prefix_len);
  xpc_dictionary_set_uint64(s, "mtu", d->cfg.mtu);
  xpc_dictionary_set_bool(s, "dhcp", d->cfg.dhcp);
  xpc_dictionary_set_bool(s, "nat44", d->cfg.nat44);
  xpc_dictionary_set_bool(s, "nat66", d->cfg.nat66);
  xpc_dictionary_set_bool(s, "dns_proxy", d->cfg.dns_proxy);
  xpc_dictionary_set_uint64(s, "dhcp_reservations", (uint64_t)d->cfg.nreserved);
  const char *mach = getenv("VMLAN_DOUBLE_SERIALIZATION_MACH"); /* the same, for another process */
  if (mach_in_serialization || (mach && strcmp(mach, "1") == 0)) {
    xpc_object_t port = vmnet_double_mach_send_create();
    xpc_dictionary_set_value(s, "port", port);
    xpc_release(port);
  }
  set_status(status, VMNET_SUCCESS);
  return s;
}

vmnet_network_ref vmnet_network_create_with_serialization(xpc_object_t s, vmnet_return_t *status) {
  const uint8_t *uuid = double_xpc_is(s, XPC_TYPE_DICTIONARY) ? xpc_dictionary_get_uuid(s, "network_uuid") : NULL;
  const char *a = uuid ? xpc_dictionary_get_string(s, "ipv4_address") : NULL, *m = a ? xpc_dictionary_get_string(s, "ipv4_mask") : NULL;
  const char *p = m ? xpc_dictionary_get_string(s, "ipv6_prefix") : NULL;
  struct vmnet_network_configuration cfg = {.magic = MAGIC_CONFIG, .has_v4 = true, .has_v6 = true};
  if (!p || xpc_dictionary_get_uint64(s, "double_version") != 1 || inet_pton(AF_INET, a, &cfg.addr) != 1 ||
      inet_pton(AF_INET, m, &cfg.mask) != 1 || inet_pton(AF_INET6, p, &cfg.prefix) != 1) {
    set_status(status, double_violation("%s: not a serialization made by vmnet_network_copy_serialization", __func__));
    return NULL;
  }
  cfg.mode = (vmnet_mode_t)xpc_dictionary_get_uint64(s, "mode");
  cfg.prefix_len = (uint8_t)xpc_dictionary_get_uint64(s, "ipv6_prefix_len");
  cfg.mtu = (uint32_t)xpc_dictionary_get_uint64(s, "mtu");
  cfg.dhcp = xpc_dictionary_get_bool(s, "dhcp");
  cfg.nat44 = xpc_dictionary_get_bool(s, "nat44");
  cfg.nat66 = xpc_dictionary_get_bool(s, "nat66");
  cfg.dns_proxy = xpc_dictionary_get_bool(s, "dns_proxy");
  return (vmnet_network_ref)reserve(&cfg, uuid, status);
}

interface_ref vmnet_interface_start_with_network(vmnet_network_ref n, xpc_object_t desc, dispatch_queue_t queue,
                                                 vmnet_start_interface_completion_handler_t handler) {
  struct double_network *d = net_ok(n, __func__);
  return d ? double_start(d, desc, queue, handler) : NULL;
}

void double_network_retain(struct double_network *n) { pthread_mutex_lock(&lock); n->refs++; pthread_mutex_unlock(&lock); }
uint32_t double_network_mtu(struct double_network *n) { return n->cfg.mtu; }
void double_network_gateway(struct double_network *n, struct in_addr *gw, struct in_addr *mask) {
  uint32_t m = ntohl(n->cfg.mask.s_addr);
  gw->s_addr = htonl((ntohl(n->cfg.addr.s_addr) & m) + 1);
  *mask = n->cfg.mask;
}
void double_network_release(struct double_network *n) {
  pthread_mutex_lock(&lock);
  if (--n->refs == 0) {
    for (struct double_network **pp = &live; *pp; pp = &(*pp)->next)
      if (*pp == n) { *pp = n->next; break; }
    double_reservation_drop(n->resfd, n->uuid);
    n->resfd = -1;
    n->magic = 0; /* kept allocated so a use after release is reported */
    double_forwards_forget(n);
  }
  pthread_mutex_unlock(&lock);
}

/* CoreFoundation's release for the two CF-typed refs. */
void CFRelease(const void *cf) {
  uint32_t magic = cf ? *(const uint32_t *)cf : 0;
  if (magic == MAGIC_CONFIG) { ((struct vmnet_network_configuration *)cf)->magic = 0; double_forwards_forget(cf); return; }
  if (magic == MAGIC_NETWORK) { double_network_release((struct double_network *)cf); return; }
  double_violation("CFRelease: not a vmnet configuration or network (%p)", cf);
}
