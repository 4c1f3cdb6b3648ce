/*
 * Block trampolines: vmnet's block-based calls as plain synchronous C functions for bun:ffi.
 * bun:ffi cannot build blocks, and a threadsafe JSCallback is fire-and-forget (native-facts D.1d), so
 * every block lives here, runs on a serial dispatch queue, copies what it needs and signals a
 * semaphore or writes one byte to a pipe. No JS ever runs on a vmnet thread.
 * Builds on macOS against the SDK (vmnet + libxpc + libdispatch + CoreFoundation) and on Linux
 * against the vmnet double (shims/vmnet.h; test/doubles). Each export names its JS user.
 */
#ifdef __APPLE__
#include <CoreFoundation/CoreFoundation.h>
#include <dispatch/dispatch.h>
#include <vmnet/vmnet.h>
#include <xpc/xpc.h>
#else
#include "vmnet.h"
#endif
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "vmnet-flat.h"

#define EXPORT __attribute__((visibility("default")))
/* vmnet_start_interface can take seconds (it talks to vmnetd); a minute means it is stuck. */
#define START_TIMEOUT_NS (60 * NSEC_PER_SEC)
#define STOP_TIMEOUT_NS (10 * NSEC_PER_SEC)

struct vmlan_iface {
  interface_ref ref;
  dispatch_queue_t queue; /* serial: start/stop completions and event callbacks */
  int pipe_r, pipe_w;     /* event pump, -1 until vmlan_vmnet_events */
};

/* ---- keys: bun:ffi calls functions only, so the `const char *` key variables are read here. */
#define K(name) {#name, &name}
static const struct { const char *symbol; const char *const *value; } KEYS[] = {
    K(vmnet_operation_mode_key), K(vmnet_interface_id_key), K(vmnet_mac_address_key), K(vmnet_mtu_key),
    K(vmnet_max_packet_size_key), K(vmnet_estimated_packets_available_key), K(vmnet_start_address_key),
    K(vmnet_end_address_key), K(vmnet_subnet_mask_key), K(vmnet_shared_interface_name_key),
    K(vmnet_nat66_prefix_key), K(vmnet_enable_tso_key), K(vmnet_enable_checksum_offload_key),
    K(vmnet_enable_isolation_key), K(vmnet_allocate_mac_address_key), K(vmnet_read_max_packets_key),
    K(vmnet_write_max_packets_key),
};
/* The string a vmnet_*_key symbol points to, or NULL for a symbol not in the table. */
EXPORT const char *vmlan_key(const char *symbol) {
  for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++) /* weak on older macOS: may be NULL */
    if (strcmp(KEYS[i].symbol, symbol) == 0) return KEYS[i].value ? *KEYS[i].value : NULL;
  return NULL;
}

/* ---- interface_param → one JSON line, as vmnet-helper prints it (uint64/int64 → number, string,
 * UUID → uppercase string; other types skipped), but with strings escaped. */
struct out { char *buf; size_t cap, len; };
static void put(struct out *o, const char *s) {
  size_t n = strlen(s);
  if (o->len + n < o->cap) memcpy(o->buf + o->len, s, n + 1);
  o->len += n;
}
static void put_string(struct out *o, const char *s) {
  char c[8];
  put(o, "\"");
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') snprintf(c, sizeof c, "\\%c", *s);
    else if ((unsigned char)*s < 0x20) snprintf(c, sizeof c, "\\u%04x", *s);
    else snprintf(c, sizeof c, "%c", *s);
    put(o, c);
  }
  put(o, "\"");
}
static void put_key(struct out *o, const char *key) {
  put(o, o->len > 1 ? "," : "");
  put_string(o, key);
  put(o, ":");
}
static void params_json(xpc_object_t params, struct out *o) {
  xpc_dictionary_apply(params, ^bool(const char *key, xpc_object_t v) {
    char num[64];
    xpc_type_t t = xpc_get_type(v);
    if (t == XPC_TYPE_UINT64) snprintf(num, sizeof num, "%llu", (unsigned long long)xpc_uint64_get_value(v));
    else if (t == XPC_TYPE_INT64) snprintf(num, sizeof num, "%lld", (long long)xpc_int64_get_value(v));
    else if (t != XPC_TYPE_STRING && t != XPC_TYPE_UUID) return true;
    put_key(o, key);
    if (t == XPC_TYPE_STRING) { put_string(o, xpc_string_get_string_ptr(v)); return true; }
    if (t == XPC_TYPE_UUID) {
      const uint8_t *u = xpc_uuid_get_bytes(v);
      snprintf(num, sizeof num, "\"%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X\"", u[0], u[1], u[2], u[3],
               u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
    }
    put(o, num);
    return true;
  });
}
/* net_* keys for a network, as vmnet-helper appends them with --network. */
static void network_json(vmnet_network_ref net, struct out *o) {
  struct in_addr a, m;
  struct in6_addr p;
  uint8_t len = 0;
  char s[INET6_ADDRSTRLEN], n[16];
  vmnet_network_get_ipv4_subnet(net, &a, &m);
  vmnet_network_get_ipv6_prefix(net, &p, &len);
  put_key(o, "net_ipv4_subnet"), put_string(o, inet_ntop(AF_INET, &a, s, sizeof s));
  put_key(o, "net_ipv4_mask"), put_string(o, inet_ntop(AF_INET, &m, s, sizeof s));
  put_key(o, "net_ipv6_prefix"), put_string(o, inet_ntop(AF_INET6, &p, s, sizeof s));
  snprintf(n, sizeof n, "%u", len);
  put_key(o, "net_ipv6_prefix_len"), put(o, n);
}

/*
 * vmnet_copy_shared_interface_list() (the interfaces bridged mode can use) as newline-terminated
 * names, in vmnet's order, as vmnet-helper --list-shared-interfaces prints them. Returns the length
 * (without the NUL; a length >= cap means "call again with cap > length"), or -1 without a list.
 */
EXPORT int64_t vmlan_shared_interfaces(char *buf, size_t cap) {
  xpc_object_t list = vmnet_copy_shared_interface_list();
  if (!list) return -1;
  __block struct out o = {buf, cap, 0};
  if (cap) buf[0] = 0;
  xpc_array_apply(list, ^bool(size_t i, xpc_object_t v) {
    (void)i;
    if (xpc_get_type(v) != XPC_TYPE_STRING) return true;
    put(&o, xpc_string_get_string_ptr(v));
    put(&o, "\n");
    return true;
  });
  xpc_release(list);
  return (int64_t)o.len;
}

/* ---- start: build the descriptor from plain arguments, start, wait for the completion block. */
enum { F_ISOLATION = 1, F_TSO = 2, F_CHECKSUM = 4 };
struct start_state { dispatch_semaphore_t done; vmnet_return_t status; struct out json; };

static vmnet_return_t start_common(vmnet_network_ref net, xpc_object_t desc, char *json, size_t cap, struct vmlan_iface **out) {
  *out = NULL;
  struct vmlan_iface *h = calloc(1, sizeof *h);
  h->pipe_r = h->pipe_w = -1;
  h->queue = dispatch_queue_create("io.vmlan.vmnet", DISPATCH_QUEUE_SERIAL);
  /* Heap state: if the wait times out the block may still run later, so the state is leaked then. */
  struct start_state *s = calloc(1, sizeof *s);
  s->done = dispatch_semaphore_create(0);
  s->status = VMNET_FAILURE;
  s->json = (struct out){calloc(1, cap), cap, 0};
  vmnet_start_interface_completion_handler_t handler = ^(vmnet_return_t status, xpc_object_t params) {
    s->status = status;
    if (status == VMNET_SUCCESS && params) {
      put(&s->json, "{");
      params_json(params, &s->json);
      if (net) network_json(net, &s->json);
      put(&s->json, "}");
    }
    dispatch_semaphore_signal(s->done);
  };
  h->ref = net ? vmnet_interface_start_with_network(net, desc, h->queue, handler) : vmnet_start_interface(desc, h->queue, handler);
  xpc_release(desc);
  /* A NULL ref means the call was refused up front; its completion may still report why, briefly. */
  dispatch_time_t limit = dispatch_time(DISPATCH_TIME_NOW, h->ref ? (int64_t)START_TIMEOUT_NS : (int64_t)(2 * NSEC_PER_SEC));
  if (dispatch_semaphore_wait(s->done, limit) != 0) return VMNET_FAILURE; /* s and h leak: see above */
  vmnet_return_t status = s->status;
  if (status == VMNET_SUCCESS && s->json.len >= cap) status = VMNET_BUFFER_EXHAUSTED; /* JSON did not fit */
  if (status == VMNET_SUCCESS && h->ref) {
    memcpy(json, s->json.buf, s->json.len + 1);
    *out = h;
  } else {
    if (status == VMNET_SUCCESS) status = VMNET_FAILURE;
    dispatch_release(h->queue);
    free(h);
  }
  dispatch_release(s->done);
  free(s->json.buf);
  free(s);
  return status;
}

/* platform/darwin/vmnet-interface.ts startInterface(): classic API (macOS 10.15+ for the address keys). */
EXPORT vmnet_return_t vmlan_vmnet_start(uint32_t mode, const uint8_t *uuid, const char *start, const char *end,
                                        const char *mask, const char *shared_if, uint32_t flags, char *json, size_t cap,
                                        struct vmlan_iface **out) {
  xpc_object_t desc = xpc_dictionary_create(NULL, NULL, 0);
  xpc_dictionary_set_uint64(desc, vmnet_operation_mode_key, mode);
  if (uuid) xpc_dictionary_set_uuid(desc, vmnet_interface_id_key, uuid); /* a UUID object, never a string */
  if (start && end && mask) {
    xpc_dictionary_set_string(desc, vmnet_start_address_key, start);
    xpc_dictionary_set_string(desc, vmnet_end_address_key, end);
    xpc_dictionary_set_string(desc, vmnet_subnet_mask_key, mask);
  }
  if (mode == VMNET_BRIDGED_MODE && shared_if) xpc_dictionary_set_string(desc, vmnet_shared_interface_name_key, shared_if);
  if (mode != VMNET_BRIDGED_MODE) xpc_dictionary_set_bool(desc, vmnet_enable_isolation_key, flags & F_ISOLATION);
  xpc_dictionary_set_bool(desc, vmnet_enable_tso_key, flags & F_TSO);
  xpc_dictionary_set_bool(desc, vmnet_enable_checksum_offload_key, flags & F_CHECKSUM);
  return start_common(NULL, desc, json, cap, out);
}

/* startInterfaceOnNetwork(): macOS 26. The interface id is ignored by vmnet there, so it is not sent. */
EXPORT vmnet_return_t vmlan_vmnet_start_with_network(vmnet_network_ref net, uint32_t flags, char *json, size_t cap,
                                                     struct vmlan_iface **out) {
  xpc_object_t desc = xpc_dictionary_create(NULL, NULL, 0);
  xpc_dictionary_set_bool(desc, vmnet_allocate_mac_address_key, false);
  xpc_dictionary_set_bool(desc, vmnet_enable_isolation_key, flags & F_ISOLATION);
  xpc_dictionary_set_bool(desc, vmnet_enable_tso_key, flags & F_TSO);
  xpc_dictionary_set_bool(desc, vmnet_enable_checksum_offload_key, flags & F_CHECKSUM);
  return start_common(net, desc, json, cap, out);
}

/* The interface_ref for vmnet_read/vmnet_write (platform/darwin/vmnet-port.ts calls them directly). */
EXPORT interface_ref vmlan_iface_ref(struct vmlan_iface *h) { return h ? h->ref : NULL; }

/*
 * The event pump: the callback block writes one byte to a non-blocking pipe (a full pipe already
 * says "packets available", so EAGAIN is fine). JS polls the returned read end, drains it, then
 * calls vmnet_read until it returns 0 packets. Returns the fd, or -status on failure.
 */
EXPORT int32_t vmlan_vmnet_events(struct vmlan_iface *h) {
  if (!h) return -(int32_t)VMNET_INVALID_ARGUMENT;
  if (h->pipe_r >= 0) return h->pipe_r;
  int p[2];
  if (pipe(p) != 0) return -(int32_t)VMNET_FAILURE;
  for (int i = 0; i < 2; i++) {
    fcntl(p[i], F_SETFL, fcntl(p[i], F_GETFL) | O_NONBLOCK);
    fcntl(p[i], F_SETFD, FD_CLOEXEC);
  }
  int w = p[1];
  vmnet_return_t st = vmnet_interface_set_event_callback(h->ref, VMNET_INTERFACE_PACKETS_AVAILABLE, h->queue,
                                                         ^(interface_event_t mask, xpc_object_t event) {
                                                           (void)mask, (void)event;
                                                           char b = 1;
                                                           ssize_t n = write(w, &b, 1);
                                                           (void)n;
                                                         });
  if (st != VMNET_SUCCESS) {
    close(p[0]), close(p[1]);
    return -(int32_t)st;
  }
  h->pipe_r = p[0], h->pipe_w = p[1];
  return h->pipe_r;
}

/*
 * Unsets the callback, stops the interface and waits for the completion; then closes the pipe. The
 * completion runs on the same serial queue after any event block already queued, so no block can
 * write to a closed (or reused) pipe fd. Frees the handle even when vmnet reports a failure.
 */
EXPORT vmnet_return_t vmlan_vmnet_stop(struct vmlan_iface *h) {
  if (!h) return VMNET_INVALID_ARGUMENT;
  if (h->pipe_r >= 0) vmnet_interface_set_event_callback(h->ref, VMNET_INTERFACE_PACKETS_AVAILABLE, NULL, NULL);
  __block vmnet_return_t result = VMNET_FAILURE;
  dispatch_semaphore_t done = dispatch_semaphore_create(0);
  vmnet_return_t st = vmnet_stop_interface(h->ref, h->queue, ^(vmnet_return_t status) {
    result = status;
    dispatch_semaphore_signal(done);
  });
  bool finished = st == VMNET_SUCCESS && dispatch_semaphore_wait(done, dispatch_time(DISPATCH_TIME_NOW, (int64_t)STOP_TIMEOUT_NS)) == 0;
  if (!finished) return st == VMNET_SUCCESS ? VMNET_FAILURE : st; /* h, done stay: a late block may use them */
  if (h->pipe_r >= 0) close(h->pipe_r), close(h->pipe_w);
  dispatch_release(done);
  dispatch_release(h->queue);
  free(h);
  return result;
}

#include "vmnet-network.h"
