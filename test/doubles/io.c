/*
 * vmnet_read / vmnet_write over the interface's TAP, with the rules callers must follow
 * (native-facts §A 5.2, C.1.7): on read every descriptor offers >= vmnet_max_packet_size bytes and
 * vm_flags is 0; on write exactly one iovec per packet with iov_len == vm_pkt_size. The struct layout
 * itself is pinned here with static asserts; a caller using another stride shows up as garbage
 * iovcnt/iov values in the second descriptor, which these checks report.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include "iface.h"

_Static_assert(sizeof(struct vmpktdesc) == 24, "struct vmpktdesc is 24 bytes on LP64");
_Static_assert(offsetof(struct vmpktdesc, vm_pkt_iov) == 8, "vm_pkt_iov at 8");
_Static_assert(offsetof(struct vmpktdesc, vm_pkt_iovcnt) == 16, "vm_pkt_iovcnt at 16");
_Static_assert(offsetof(struct vmpktdesc, vm_flags) == 20, "vm_flags at 20");

/* Key strings: the name without "_key" (verified ones per native-facts §A 5.3; the rest follow it). */
#define KEY(name) const char *vmnet_##name##_key = "vmnet_" #name;
KEY(operation_mode) KEY(interface_id) KEY(mac_address) KEY(mtu) KEY(max_packet_size)
KEY(estimated_packets_available) KEY(start_address) KEY(end_address) KEY(subnet_mask)
KEY(shared_interface_name) KEY(nat66_prefix) KEY(enable_tso) KEY(enable_checksum_offload)
KEY(enable_isolation) KEY(allocate_mac_address) KEY(read_max_packets) KEY(write_max_packets)
KEY(enable_virtio_header) KEY(network_identifier)

bool double_iface_ok(interface_ref i, const char *fn) {
  if (!i || i->magic != MAGIC_IFACE) { double_violation("%s: not an interface_ref (%p)", fn, (void *)i); return false; }
  if (i->stopped) { double_violation("%s: interface used after vmnet_stop_interface", fn); return false; }
  if (!i->started) { double_violation("%s: interface did not start (its completion reported a failure)", fn); return false; }
  return true;
}

static vmnet_return_t check_batch(interface_ref i, struct vmpktdesc *p, int *cnt, const char *fn) {
  if (!double_iface_ok(i, fn)) return VMNET_INVALID_ARGUMENT;
  if (!p || !cnt) return double_violation("%s: NULL packets or pktcnt", fn);
  if (*cnt < 1) return double_violation("%s: *pktcnt is %d, must be >= 1", fn, *cnt);
  if (*cnt > DOUBLE_MAX_PACKETS) return double_violation("%s: *pktcnt %d exceeds %d packets per call", fn, *cnt, DOUBLE_MAX_PACKETS);
  return VMNET_SUCCESS;
}

vmnet_return_t vmnet_read(interface_ref i, struct vmpktdesc *p, int *cnt) {
  vmnet_return_t st = check_batch(i, p, cnt, "vmnet_read");
  if (st != VMNET_SUCCESS) return st;
  for (int k = 0; k < *cnt; k++) {
    struct vmpktdesc *d = &p[k];
    if (d->vm_pkt_iovcnt < 1 || d->vm_pkt_iovcnt > 16 || !d->vm_pkt_iov)
      return double_violation("vmnet_read: packet %d has %u iovecs at %p (wrong struct vmpktdesc layout?)", k, d->vm_pkt_iovcnt, (void *)d->vm_pkt_iov);
    if (d->vm_flags != 0) return double_violation("vmnet_read: packet %d has vm_flags %u, must be reset to 0", k, d->vm_flags);
    if (d->vm_pkt_size < i->max_packet_size)
      return double_violation("vmnet_read: packet %d has vm_pkt_size %zu < vmnet_max_packet_size %llu (reset it before every read)", k,
                              d->vm_pkt_size, (unsigned long long)i->max_packet_size);
    size_t room = 0;
    for (uint32_t v = 0; v < d->vm_pkt_iovcnt; v++) room += d->vm_pkt_iov[v].iov_len;
    if (room < d->vm_pkt_size) return double_violation("vmnet_read: packet %d iovecs hold %zu bytes < vm_pkt_size %zu", k, room, d->vm_pkt_size);
  }
  pthread_mutex_lock(&i->lock);
  i->ev_pending = false; /* the consumer is reading: the next arrival gets a new event */
  pthread_cond_signal(&i->cond);
  pthread_mutex_unlock(&i->lock);
  int got = 0;
  for (; got < *cnt; got++) {
    ssize_t n = readv(i->fd, p[got].vm_pkt_iov, (int)p[got].vm_pkt_iovcnt);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    if (n < 0) { *cnt = got; return VMNET_FAILURE; }
    p[got].vm_pkt_size = (size_t)n;
  }
  *cnt = got;
  return VMNET_SUCCESS;
}

vmnet_return_t vmnet_write(interface_ref i, struct vmpktdesc *p, int *cnt) {
  vmnet_return_t st = check_batch(i, p, cnt, "vmnet_write");
  if (st != VMNET_SUCCESS) return st;
  for (int k = 0; k < *cnt; k++) {
    struct vmpktdesc *d = &p[k];
    if (d->vm_pkt_iovcnt != 1)
      return double_violation("vmnet_write: packet %d has %u iovecs; vmnet accepts exactly one iovec per packet", k, d->vm_pkt_iovcnt);
    if (!d->vm_pkt_iov || !d->vm_pkt_iov[0].iov_base) return double_violation("vmnet_write: packet %d has no buffer", k);
    if (d->vm_pkt_iov[0].iov_len != d->vm_pkt_size)
      return double_violation("vmnet_write: packet %d iov_len %zu != vm_pkt_size %zu", k, d->vm_pkt_iov[0].iov_len, d->vm_pkt_size);
    if (d->vm_pkt_size < 14) return double_violation("vmnet_write: packet %d is %zu bytes, not an Ethernet frame", k, d->vm_pkt_size);
    if (d->vm_pkt_size > i->max_packet_size) return VMNET_PACKET_TOO_BIG; /* a runtime condition, not a caller bug */
  }
  /* All or nothing, as <vmnet/vmnet.h> documents: a frame the TAP does not take fails the call. */
  for (int k = 0; k < *cnt; k++) {
    ssize_t n = write(i->fd, p[k].vm_pkt_iov[0].iov_base, p[k].vm_pkt_size);
    if (n != (ssize_t)p[k].vm_pkt_size) { *cnt = k; return VMNET_FAILURE; }
  }
  return VMNET_SUCCESS;
}

xpc_object_t vmnet_copy_shared_interface_list(void) {
  xpc_object_t list = xpc_array_create(NULL, 0);
  const char *bridge = getenv("VMLAN_DOUBLE_BRIDGE");
  if (bridge && *bridge) {
    xpc_object_t s = xpc_string_create(bridge);
    xpc_array_append_value(list, s);
    xpc_release(s);
  }
  return list;
}
