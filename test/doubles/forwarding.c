/*
 * vmnet port forwarding as the double checks it (Apple's vmnet documentation for
 * vmnet_network_configuration_add_port_forwarding_rule and vmnet_interface_add_ip_port_forwarding_rule):
 * protocol IPPROTO_TCP or IPPROTO_UDP, family AF_INET or AF_INET6 with an in_addr / in6_addr behind
 * internal_address, ports in host byte order (never 0). Configuration rules are kept with the network
 * vmnet_network_create makes from the configuration, and each internal address must lie inside that
 * network's subnet or prefix. On an interface started with a network, the interface calls return
 * VMNET_FAILURE at once and never run their handler: what macOS 27 did in a published field report
 * (rules only at creation for such networks); Apple's page says nothing either way.
 * Tests read what was configured with vmnet_double_network_forwards / vmnet_double_interface_forwards.
 * Nothing is forwarded: the double checks calls, it is no NAT.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "double.h"
#include "iface.h"

#define MAX_RULES 256

struct rule { uint8_t proto, af; uint16_t external, internal; uint8_t addr[16]; };
struct table { const void *owner; int n; struct rule r[MAX_RULES]; struct table *next; };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct table *tables;
static dispatch_queue_t handlers;

/* Takes `lock`. The table of `owner` (a configuration, network or interface), made on demand. */
static struct table *table_of(const void *owner, bool make) {
  for (struct table *t = tables; t; t = t->next) if (t->owner == owner) return t;
  if (!make) return NULL;
  struct table *t = calloc(1, sizeof *t);
  t->owner = owner;
  t->next = tables;
  tables = t;
  return t;
}

static vmnet_return_t check_rule(const char *fn, uint8_t proto, unsigned af, uint16_t external, uint16_t internal, const void *addr) {
  if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) return double_violation("%s: protocol %u is not IPPROTO_TCP or IPPROTO_UDP", fn, proto);
  if (af != AF_INET && af != AF_INET6) return double_violation("%s: address family %u is not AF_INET or AF_INET6", fn, af);
  if (!addr && internal) return double_violation("%s: NULL internal_address", fn);
  if (external == 0 || (addr && internal == 0)) return double_violation("%s: port 0 (ports are in host byte order, 1-65535)", fn);
  return VMNET_SUCCESS;
}

/* Takes `lock`. Adds a rule; a second rule for the same protocol, family and external port is refused. */
static vmnet_return_t add(struct table *t, uint8_t proto, uint8_t af, uint16_t external, uint16_t internal, const void *addr) {
  for (int k = 0; k < t->n; k++)
    if (t->r[k].proto == proto && t->r[k].af == af && t->r[k].external == external) return VMNET_INVALID_ARGUMENT;
  if (t->n == MAX_RULES) return VMNET_MEM_FAILURE;
  struct rule *r = &t->r[t->n++];
  *r = (struct rule){.proto = proto, .af = af, .external = external, .internal = internal};
  memcpy(r->addr, addr, af == AF_INET ? 4 : 16);
  return VMNET_SUCCESS;
}

vmnet_return_t vmnet_network_configuration_add_port_forwarding_rule(vmnet_network_configuration_ref c, uint8_t protocol, sa_family_t af,
                                                                    uint16_t internal_port, uint16_t external_port, const void *internal_address) {
  if (!double_config_ok(c, __func__)) return VMNET_INVALID_ARGUMENT;
  vmnet_return_t st = check_rule(__func__, protocol, af, external_port, internal_port, internal_address);
  if (st != VMNET_SUCCESS) return st;
  pthread_mutex_lock(&lock);
  st = add(table_of(c, true), protocol, (uint8_t)af, external_port, internal_port, internal_address);
  pthread_mutex_unlock(&lock);
  return st;
}

/* network.c: the configuration's rules go with the network made from it; each must target its subnet. */
void double_forwards_commit(vmnet_network_configuration_ref c, struct double_network *net, const struct in_addr *addr,
                            const struct in_addr *mask, const struct in6_addr *prefix, uint8_t prefix_len) {
  pthread_mutex_lock(&lock);
  struct table *from = table_of(c, false);
  if (from) {
    struct table *to = table_of(net, true);
    for (int k = 0; k < from->n; k++) {
      struct rule *r = &from->r[k];
      bool inside = true;
      if (r->af == AF_INET) {
        uint32_t a, m = ntohl(mask->s_addr);
        memcpy(&a, r->addr, 4);
        inside = (ntohl(a) & m) == (ntohl(addr->s_addr) & m);
      } else {
        for (int b = 0; b < prefix_len; b++) inside &= ((r->addr[b / 8] ^ prefix->s6_addr[b / 8]) & (0x80 >> (b % 8))) == 0;
      }
      char s[INET6_ADDRSTRLEN];
      if (!inside) double_violation("vmnet_network_create: forwarding rule to %s is outside the network", inet_ntop(r->af, r->addr, s, sizeof s));
      add(to, r->proto, r->af, r->external, r->internal, r->addr);
    }
  }
  pthread_mutex_unlock(&lock);
}

/* network.c / interface.c: an owner that is gone forgets its rules. */
void double_forwards_forget(const void *owner) {
  pthread_mutex_lock(&lock);
  for (struct table **pp = &tables; *pp; pp = &(*pp)->next) {
    if ((*pp)->owner != owner) continue;
    struct table *t = *pp;
    *pp = t->next;
    free(t);
    break;
  }
  pthread_mutex_unlock(&lock);
}

static void finish(vmnet_interface_completion_handler_t handler, vmnet_return_t st) {
  if (!handler) return;
  pthread_mutex_lock(&lock);
  if (!handlers) handlers = dispatch_queue_create("vmnet-double.forwarding", NULL);
  dispatch_queue_t q = handlers;
  pthread_mutex_unlock(&lock);
  dispatch_async(q, ^{ handler(st); });
}

vmnet_return_t vmnet_interface_add_ip_port_forwarding_rule(interface_ref i, uint8_t protocol, uint16_t external_port, uint8_t af,
                                                           const void *internal_address, uint16_t internal_port,
                                                           vmnet_interface_completion_handler_t handler) {
  if (!double_iface_ok(i, __func__)) return VMNET_INVALID_ARGUMENT;
  if (i->net) return VMNET_FAILURE; /* started with a network: no handler runs (see the top of this file) */
  vmnet_return_t st = check_rule(__func__, protocol, af, external_port, internal_port, internal_address);
  if (st != VMNET_SUCCESS) return st;
  pthread_mutex_lock(&lock);
  st = add(table_of(i, true), protocol, af, external_port, internal_port, internal_address);
  pthread_mutex_unlock(&lock);
  finish(handler, st);
  return VMNET_SUCCESS;
}

vmnet_return_t vmnet_interface_remove_ip_port_forwarding_rule(interface_ref i, uint8_t protocol, uint16_t external_port, uint8_t af,
                                                              vmnet_interface_completion_handler_t handler) {
  if (!double_iface_ok(i, __func__)) return VMNET_INVALID_ARGUMENT;
  if (i->net) return VMNET_FAILURE;
  vmnet_return_t st = check_rule(__func__, protocol, af, external_port, 0, NULL);
  if (st != VMNET_SUCCESS) return st;
  vmnet_return_t found = VMNET_INVALID_ARGUMENT;
  pthread_mutex_lock(&lock);
  struct table *t = table_of(i, false);
  for (int k = 0; t && k < t->n; k++) {
    if (t->r[k].proto != protocol || t->r[k].af != af || t->r[k].external != external_port) continue;
    t->r[k] = t->r[--t->n];
    found = VMNET_SUCCESS;
    break;
  }
  pthread_mutex_unlock(&lock);
  finish(handler, found);
  return VMNET_SUCCESS;
}

/* Double-only, for tests: the rules as lines "tcp 4 8080 10.0.0.2 80", sorted by insertion; length or -1. */
static int32_t dump(const void *owner, char *out, size_t cap) {
  size_t len = 0;
  if (cap) out[0] = 0;
  pthread_mutex_lock(&lock);
  struct table *t = table_of(owner, false);
  for (int k = 0; t && k < t->n; k++) {
    char a[INET6_ADDRSTRLEN];
    struct rule *r = &t->r[k];
    int n = snprintf(out + len, len < cap ? cap - len : 0, "%s %d %u %s %u\n", r->proto == IPPROTO_TCP ? "tcp" : "udp",
                     r->af == AF_INET ? 4 : 6, r->external, inet_ntop(r->af, r->addr, a, sizeof a), r->internal);
    len += (size_t)n;
  }
  pthread_mutex_unlock(&lock);
  return len < cap ? (int32_t)len : -1;
}
int32_t vmnet_double_network_forwards(vmnet_network_ref net, char *out, size_t cap) { return dump(net, out, cap); }
int32_t vmnet_double_interface_forwards(interface_ref i, char *out, size_t cap) { return dump(i, out, cap); }
