/* The vmnet double's interface object (shared by interface.c and io.c). */
#ifndef VMNET_DOUBLE_IFACE_H
#define VMNET_DOUBLE_IFACE_H

#include <net/if.h>
#include <pthread.h>
#include "double.h"

/* vmnet_read_max_packets / vmnet_write_max_packets as macOS 26 reports them (native-facts C.1.3). */
#define DOUBLE_MAX_PACKETS 256

struct vmnet_interface {
  uint32_t magic;
  bool started, stopped, stopping;
  int fd; /* the TAP */
  char ifname[IFNAMSIZ];
  uint8_t mac[6], uuid[16];
  uint32_t mtu;
  uint64_t max_packet_size;
  struct double_network *net;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  dispatch_queue_t ev_queue;
  vmnet_interface_event_callback_t ev_cb;
  bool ev_pending; /* an event was sent and no vmnet_read has happened since */
  pthread_t reader;
};

/* Reports (and returns false for) a NULL, foreign, failed or stopped interface. */
bool double_iface_ok(interface_ref i, const char *fn);

#endif
