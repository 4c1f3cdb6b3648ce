/*
 * vmnet interfaces backed by real TAP devices: each started interface is a TAP enslaved to the bridge
 * named by VMLAN_DOUBLE_BRIDGE, so frames written with vmnet_write reach that bridge and frames from it
 * come back through vmnet_read. A reader thread polls the TAP and fires the event callback block on
 * its queue when frames are waiting (once per vmnet_read, like an edge). Descriptor keys are checked
 * by name and XPC type (native-facts §A 5.3): a string where a UUID belongs is a violation.
 * NETWORK SAFETY: tests load this only inside a network namespace they created.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>
#include <Block.h>
#include "double.h"
#include "iface.h"

enum { K_CLASSIC = 1, K_NETWORK = 2 };
struct key_rule { const char **key; xpc_type_t type; int where; };
static const struct key_rule *rules(void) {
  static struct key_rule r[16];
  if (!r[0].key) {
    struct key_rule init[] = {
        {&vmnet_operation_mode_key, XPC_TYPE_UINT64, K_CLASSIC | K_NETWORK},
        {&vmnet_interface_id_key, XPC_TYPE_UUID, K_CLASSIC | K_NETWORK},
        {&vmnet_start_address_key, XPC_TYPE_STRING, K_CLASSIC},
        {&vmnet_end_address_key, XPC_TYPE_STRING, K_CLASSIC},
        {&vmnet_subnet_mask_key, XPC_TYPE_STRING, K_CLASSIC},
        {&vmnet_shared_interface_name_key, XPC_TYPE_STRING, K_CLASSIC},
        {&vmnet_nat66_prefix_key, XPC_TYPE_STRING, K_CLASSIC},
        {&vmnet_network_identifier_key, XPC_TYPE_UUID, K_CLASSIC},
        {&vmnet_enable_tso_key, XPC_TYPE_BOOL, K_CLASSIC | K_NETWORK},
        {&vmnet_enable_checksum_offload_key, XPC_TYPE_BOOL, K_CLASSIC | K_NETWORK},
        {&vmnet_enable_isolation_key, XPC_TYPE_BOOL, K_CLASSIC | K_NETWORK},
        {&vmnet_allocate_mac_address_key, XPC_TYPE_BOOL, K_CLASSIC | K_NETWORK},
        {&vmnet_enable_virtio_header_key, XPC_TYPE_BOOL, K_CLASSIC | K_NETWORK},
    };
    memcpy(r, init, sizeof init);
  }
  return r;
}

/* Returns the number of problems found in the descriptor (each one reported). */
static int check_desc(xpc_object_t desc, int where) {
  if (!double_xpc_is(desc, XPC_TYPE_DICTIONARY)) {
    double_violation("interface_desc is not an XPC dictionary");
    return 1;
  }
  __block int bad = 0;
  xpc_dictionary_apply(desc, ^bool(const char *key, xpc_object_t value) {
    const struct key_rule *r = rules();
    for (; r->key; r++) if (strcmp(*r->key, key) == 0) break;
    if (!r->key) { bad++; double_violation("interface_desc has unknown key \"%s\"", key); return true; }
    if (!(r->where & where)) {
      bad++;
      double_violation("interface_desc key \"%s\" is not accepted %s", key, where == K_NETWORK ? "with a network" : "here");
    }
    if (xpc_get_type(value) != r->type) {
      bad++;
      double_violation("interface_desc key \"%s\" must be an XPC %s", key, r->type == XPC_TYPE_UUID ? "UUID (not a string)" : "value of its documented type");
    }
    return true;
  });
  if (where == K_CLASSIC) {
    uint64_t mode = xpc_dictionary_get_uint64(desc, vmnet_operation_mode_key);
    if (mode < VMNET_HOST_MODE || mode > VMNET_BRIDGED_MODE) { bad++; double_violation("operation mode %llu is not host/shared/bridged", (unsigned long long)mode); }
    if (mode == VMNET_BRIDGED_MODE && !xpc_dictionary_get_string(desc, vmnet_shared_interface_name_key)) {
      bad++;
      double_violation("bridged mode needs vmnet_shared_interface_name_key");
    }
    int addrs = !!xpc_dictionary_get_value(desc, vmnet_start_address_key) + !!xpc_dictionary_get_value(desc, vmnet_end_address_key) +
                !!xpc_dictionary_get_value(desc, vmnet_subnet_mask_key);
    if (addrs != 0 && addrs != 3) { bad++; double_violation("start address, end address and subnet mask go together"); }
  }
  if (xpc_dictionary_get_bool(desc, vmnet_enable_virtio_header_key) && xpc_dictionary_get_bool(desc, vmnet_enable_checksum_offload_key)) {
    bad++;
    double_violation("virtio header and checksum offload must not be combined");
  }
  return bad;
}

static int open_tap(const char *bridge, char ifname[IFNAMSIZ], uint32_t *mtu) {
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -1;
  struct ifreq ifr = {0};
  snprintf(ifr.ifr_name, IFNAMSIZ, "vmd%%d");
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0 || s < 0) goto fail;
  snprintf(ifname, IFNAMSIZ, "%s", ifr.ifr_name);
  struct ifreq br = {0};
  snprintf(br.ifr_name, IFNAMSIZ, "%s", bridge);
  if (ioctl(s, SIOCGIFMTU, &br) < 0) goto fail;
  *mtu = (uint32_t)br.ifr_mtu;
  ifr.ifr_mtu = br.ifr_mtu;
  if (ioctl(s, SIOCSIFMTU, &ifr) < 0 || ioctl(s, SIOCGIFINDEX, &ifr) < 0) goto fail;
  br.ifr_ifindex = ifr.ifr_ifindex;
  if (ioctl(s, SIOCBRADDIF, &br) < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0) goto fail;
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) goto fail;
  close(s);
  return fd;
fail:
  fprintf(stderr, "vmnet-double: TAP on bridge %s: %s\n", bridge, strerror(errno));
  if (s >= 0) close(s);
  close(fd);
  return -1;
}

/* Fires the event callback once per batch of waiting frames; re-armed by vmnet_read. */
static void *reader_main(void *arg) {
  struct vmnet_interface *i = arg;
  for (;;) {
    pthread_mutex_lock(&i->lock);
    while (!i->stopping && (i->ev_pending || !i->ev_cb)) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_nsec += 20 * 1000000L;
      if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
      pthread_cond_timedwait(&i->cond, &i->lock, &ts);
    }
    bool stop = i->stopping;
    pthread_mutex_unlock(&i->lock);
    if (stop) return NULL;
    struct pollfd p = {.fd = i->fd, .events = POLLIN};
    if (poll(&p, 1, 20) <= 0 || !(p.revents & POLLIN)) continue;
    pthread_mutex_lock(&i->lock);
    if (i->ev_cb && !i->stopping) {
      i->ev_pending = true;
      vmnet_interface_event_callback_t cb = i->ev_cb; /* captured: the copied job block retains it */
      dispatch_async(i->ev_queue, ^{
        xpc_object_t ev = xpc_dictionary_create(NULL, NULL, 0);
        xpc_dictionary_set_uint64(ev, vmnet_estimated_packets_available_key, 1);
        cb(VMNET_INTERFACE_PACKETS_AVAILABLE, ev);
        xpc_release(ev);
      });
    }
    pthread_mutex_unlock(&i->lock);
  }
}

/*
 * The completion runs later on the caller's queue, as vmnet's does. vmnet may still read
 * interface_desc until then (Apple does not say when it is done with it; vmnet-helper and QEMU
 * release it after the completion), so a descriptor released before is reported.
 */
static void complete(dispatch_queue_t q, vmnet_start_interface_completion_handler_t h, vmnet_return_t st, xpc_object_t param,
                     xpc_object_t desc) {
  dispatch_async(q, ^{
    usleep(2000); /* vmnetd takes a while; a caller that released the descriptor at once has done so by now */
    if (desc && !double_xpc_live(desc)) double_violation("interface_desc was released before the start completion ran (release it after)");
    h(st, param);
    if (param) xpc_release(param); /* owned by vmnet: the handler must retain what it keeps */
  });
}

interface_ref double_start(struct double_network *net, xpc_object_t desc, dispatch_queue_t queue,
                           vmnet_start_interface_completion_handler_t handler) {
  const char *fn = net ? "vmnet_interface_start_with_network" : "vmnet_start_interface";
  if (!handler) { double_violation("%s: NULL completion handler", fn); return NULL; }
  if (!queue) { double_violation("%s: NULL queue", fn); return NULL; }
  if (check_desc(desc, net ? K_NETWORK : K_CLASSIC)) {
    complete(queue, handler, VMNET_INVALID_ARGUMENT, NULL, desc);
    return NULL;
  }
  struct vmnet_interface *i = calloc(1, sizeof *i);
  i->magic = MAGIC_IFACE;
  i->fd = -1;
  pthread_mutex_init(&i->lock, NULL);
  pthread_cond_init(&i->cond, NULL);
  const char *bridge = getenv("VMLAN_DOUBLE_BRIDGE");
  if (!bridge || !*bridge) {
    fprintf(stderr, "vmnet-double: set VMLAN_DOUBLE_BRIDGE to the bridge that backs vmnet\n");
    complete(queue, handler, VMNET_FAILURE, NULL, desc);
    return i;
  }
  i->fd = open_tap(bridge, i->ifname, &i->mtu);
  if (i->fd < 0) { complete(queue, handler, VMNET_FAILURE, NULL, desc); return i; }
  const uint8_t *id = net ? NULL : xpc_dictionary_get_uuid(desc, vmnet_interface_id_key);
  if (id) memcpy(i->uuid, id, 16);
  else if (getrandom(i->uuid, 16, 0) != 16) memset(i->uuid, 0x5a, 16);
  memcpy(i->mac, i->uuid, 6); /* a given interface id gives back the same MAC, as vmnet documents */
  i->mac[0] = (i->mac[0] | 0x02) & 0xfe;
  if (net) {
    /* VMLAN_DOUBLE_IFACE_KEEPS_NETWORK=0: an interface does not keep its network's reservation (Apple does
     * not say it does), so only the caller's references do. */
    const char *keeps = getenv("VMLAN_DOUBLE_IFACE_KEEPS_NETWORK");
    if (!keeps || strcmp(keeps, "0") != 0) i->net = net, double_network_retain(net);
    i->mtu = double_network_mtu(net);
    struct in_addr gw, mask;
    double_network_gateway(net, &gw, &mask);
    double_host_address(bridge, gw, mask);
  }
  i->max_packet_size = xpc_dictionary_get_bool(desc, vmnet_enable_tso_key) ? 65550 : i->mtu + 14;
  xpc_object_t p = xpc_dictionary_create(NULL, NULL, 0);
  xpc_dictionary_set_uint64(p, vmnet_write_max_packets_key, DOUBLE_MAX_PACKETS);
  xpc_dictionary_set_uint64(p, vmnet_read_max_packets_key, DOUBLE_MAX_PACKETS);
  if (!net) {
    const char *start = xpc_dictionary_get_string(desc, vmnet_start_address_key);
    xpc_dictionary_set_string(p, vmnet_subnet_mask_key, start ? xpc_dictionary_get_string(desc, vmnet_subnet_mask_key) : "255.255.255.0");
    xpc_dictionary_set_uint64(p, vmnet_mtu_key, i->mtu);
    xpc_dictionary_set_string(p, vmnet_end_address_key, start ? xpc_dictionary_get_string(desc, vmnet_end_address_key) : "192.168.64.254");
    xpc_dictionary_set_string(p, vmnet_start_address_key, start ? start : "192.168.64.1");
  } else {
    xpc_dictionary_set_uint64(p, vmnet_mtu_key, i->mtu);
  }
  xpc_dictionary_set_uuid(p, vmnet_interface_id_key, i->uuid);
  xpc_dictionary_set_uint64(p, vmnet_max_packet_size_key, i->max_packet_size);
  char mac[18];
  snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", i->mac[0], i->mac[1], i->mac[2], i->mac[3], i->mac[4], i->mac[5]);
  xpc_dictionary_set_string(p, vmnet_mac_address_key, mac);
  i->started = true;
  pthread_create(&i->reader, NULL, reader_main, i);
  complete(queue, handler, VMNET_SUCCESS, p, desc);
  return i;
}

interface_ref vmnet_start_interface(xpc_object_t desc, dispatch_queue_t queue, vmnet_start_interface_completion_handler_t handler) {
  return double_start(NULL, desc, queue, handler);
}

static uint64_t late_events;
uint64_t vmnet_double_late_events(void) { return __atomic_load_n(&late_events, __ATOMIC_SEQ_CST); }

/*
 * VMLAN_DOUBLE_LATE_EVENT=1: when a callback is unset, the old block runs once more on its queue
 * 30 ms later, like an event vmnet had already dispatched (Apple gives no ordering guarantee).
 */
struct late { vmnet_interface_event_callback_t cb; dispatch_queue_t q; };
static void *late_main(void *arg) {
  struct late *l = arg;
  usleep(30000);
  dispatch_async(l->q, ^{
    l->cb(VMNET_INTERFACE_PACKETS_AVAILABLE, NULL);
    __atomic_add_fetch(&late_events, 1, __ATOMIC_SEQ_CST);
    Block_release(l->cb);
    dispatch_release(l->q);
    free(l);
  });
  return NULL;
}
static void late_event(vmnet_interface_event_callback_t old, dispatch_queue_t q) {
  struct late *l = malloc(sizeof *l);
  *l = (struct late){Block_copy(old), q};
  dispatch_retain(q);
  pthread_t t;
  pthread_create(&t, NULL, late_main, l);
  pthread_detach(t);
}

vmnet_return_t vmnet_interface_set_event_callback(interface_ref i, interface_event_t mask, dispatch_queue_t queue,
                                                  vmnet_interface_event_callback_t cb) {
  if (!double_iface_ok(i, "vmnet_interface_set_event_callback")) return VMNET_INVALID_ARGUMENT;
  if (mask != VMNET_INTERFACE_PACKETS_AVAILABLE) return double_violation("event mask %u is not VMNET_INTERFACE_PACKETS_AVAILABLE", mask);
  if (cb && !queue) return double_violation("vmnet_interface_set_event_callback: a callback needs a queue");
  pthread_mutex_lock(&i->lock);
  const char *late = getenv("VMLAN_DOUBLE_LATE_EVENT");
  if (!cb && i->ev_cb && late && strcmp(late, "1") == 0) late_event(i->ev_cb, i->ev_queue);
  if (i->ev_cb) Block_release(i->ev_cb);
  if (i->ev_queue) dispatch_release(i->ev_queue);
  i->ev_cb = cb ? Block_copy(cb) : NULL;
  i->ev_queue = cb ? queue : NULL;
  if (cb) dispatch_retain(queue);
  i->ev_pending = false;
  pthread_cond_signal(&i->cond);
  pthread_mutex_unlock(&i->lock);
  return VMNET_SUCCESS;
}

vmnet_return_t vmnet_stop_interface(interface_ref i, dispatch_queue_t queue, vmnet_interface_completion_handler_t handler) {
  if (!double_iface_ok(i, "vmnet_stop_interface")) return VMNET_INVALID_ARGUMENT;
  if (!queue || !handler) return double_violation("vmnet_stop_interface: queue and completion handler are required");
  pthread_mutex_lock(&i->lock);
  i->stopping = true;
  pthread_cond_signal(&i->cond);
  pthread_mutex_unlock(&i->lock);
  if (i->started) pthread_join(i->reader, NULL);
  if (i->fd >= 0) close(i->fd); /* the TAP disappears with its last fd */
  i->fd = -1;
  i->stopped = true;
  if (i->ev_cb) Block_release(i->ev_cb);
  if (i->ev_queue) dispatch_release(i->ev_queue);
  i->ev_cb = NULL;
  i->ev_queue = NULL;
  if (i->net) double_network_release(i->net);
  i->net = NULL;
  double_forwards_forget(i);
  dispatch_async(queue, ^{ handler(VMNET_SUCCESS); });
  return VMNET_SUCCESS; /* the struct stays (a few bytes) so a use after stop is reported */
}
