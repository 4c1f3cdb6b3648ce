/*
 * Block trampolines: vmnet's block-based calls as plain synchronous C functions for bun:ffi.
 * bun:ffi cannot build blocks, and a threadsafe JSCallback is fire-and-forget (native-facts D.1d), so
 * every block lives here, runs on a serial dispatch queue, copies what it needs and signals a
 * semaphore or writes one byte to a pipe. No JS ever runs on a vmnet thread.
 * On macOS this builds against the SDK's headers, on Linux against shims/vmnet.h and the vmnet
 * double (test/doubles). Each export names its JS user. The macOS 26 network calls are in
 * vmnet-network.c, the XPC broker's in vmnet-xpc-*.c.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "vmnet-shim.h"

/* vmnet_start_interface can take seconds (it talks to vmnetd); a minute means it is stuck. */
#define START_TIMEOUT_NS (60 * NSEC_PER_SEC)
#define STOP_TIMEOUT_NS (10 * NSEC_PER_SEC)

struct vmlan_iface {
  interface_ref ref;
  dispatch_queue_t queue; /* serial: start/stop completions and event callbacks */
  int pipe_r, pipe_w;     /* event pump, -1 until vmlan_vmnet_events */
  /* Our copy of the event block; *closed lives in its __block storage, which every copy keeps alive. */
  vmnet_interface_event_callback_t events;
  int *closed;
};

/*
 * ---- keys: bun:ffi calls functions only, so the `const char *` key variables are read here. A key
 * newer than the macOS the binary runs on is weak-linked: its address is NULL (checked at every use).
 */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunguarded-availability-new"
#define K(name) {#name, &name}
static const struct { const char *symbol; const char *const *value; } KEYS[] = {
    K(vmnet_operation_mode_key), K(vmnet_interface_id_key), K(vmnet_mac_address_key), K(vmnet_mtu_key),
    K(vmnet_max_packet_size_key), K(vmnet_estimated_packets_available_key), K(vmnet_start_address_key),
    K(vmnet_end_address_key), K(vmnet_subnet_mask_key), K(vmnet_shared_interface_name_key),
    K(vmnet_nat66_prefix_key), K(vmnet_enable_tso_key), K(vmnet_enable_checksum_offload_key),
    K(vmnet_enable_isolation_key), K(vmnet_allocate_mac_address_key), K(vmnet_read_max_packets_key),
    K(vmnet_write_max_packets_key),
};
#pragma clang diagnostic pop

/* The string a vmnet_*_key symbol points to, or NULL for a symbol not in the table or not in this macOS. */
EXPORT const char *vmlan_key(const char *symbol) {
  for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++)
    if (strcmp(KEYS[i].symbol, symbol) == 0) return KEYS[i].value ? *KEYS[i].value : NULL;
  return NULL;
}

/* Sets an optional bool key. A key this macOS lacks: false is what vmnet assumes anyway; true fails. */
static bool set_optional(xpc_object_t desc, const char *symbol, bool on) {
  const char *key = vmlan_key(symbol);
  if (key) xpc_dictionary_set_bool(desc, key, on);
  return key || !on;
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
    json_put(&o, xpc_string_get_string_ptr(v));
    json_put(&o, "\n");
    return true;
  });
  xpc_release(list);
  return (int64_t)o.len;
}

/* ---- start: build the descriptor from plain arguments, start, wait for the completion block. */
struct start_state { dispatch_semaphore_t done; vmnet_return_t status; struct out json; };

/*
 * Starts through `start` (classic or with a network), waits, and hands out the handle. The
 * descriptor is released only after the completion ran, as vmnet-helper and QEMU do (Apple does not
 * say when vmnet is done with it); `after_params` appends keys to the JSON (the network's).
 */
vmnet_return_t vmlan_start_common(vmlan_starter_t start, xpc_object_t desc, void (^after_params)(struct out *),
                                         char *json, size_t cap, struct vmlan_iface **out) {
  *out = NULL;
  struct vmlan_iface *h = calloc(1, sizeof *h);
  h->pipe_r = h->pipe_w = -1;
  h->queue = dispatch_queue_create("io.vmlan.vmnet", DISPATCH_QUEUE_SERIAL);
  /* Heap state: if the wait times out the block may still run later, so the state is leaked then. */
  struct start_state *s = calloc(1, sizeof *s);
  s->done = dispatch_semaphore_create(0);
  s->status = VMNET_FAILURE;
  s->json = (struct out){calloc(1, cap), cap, 0};
  h->ref = start(h->queue, ^(vmnet_return_t status, xpc_object_t params) {
    s->status = status;
    if (status == VMNET_SUCCESS && params) {
      json_put(&s->json, "{");
      json_params(params, &s->json);
      if (after_params) after_params(&s->json);
      json_put(&s->json, "}");
    }
    dispatch_semaphore_signal(s->done);
  });
  /* A NULL ref means the call was refused up front; its completion may still report why, briefly. */
  dispatch_time_t limit = dispatch_time(DISPATCH_TIME_NOW, h->ref ? (int64_t)START_TIMEOUT_NS : (int64_t)(2 * NSEC_PER_SEC));
  if (dispatch_semaphore_wait(s->done, limit) != 0) return VMNET_FAILURE; /* s, h, desc leak: see above */
  xpc_release(desc);
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

bool vmlan_offload_keys(xpc_object_t desc, uint32_t flags) {
  xpc_dictionary_set_bool(desc, vmnet_enable_tso_key, flags & VMLAN_F_TSO);
  return set_optional(desc, "vmnet_enable_checksum_offload_key", flags & VMLAN_F_CHECKSUM);
}

/* platform/darwin/vmnet-interface.ts startInterface(): classic API (macOS 10.15+ for the address keys). */
EXPORT vmnet_return_t vmlan_vmnet_start(uint32_t mode, const uint8_t *uuid, const char *start, const char *end,
                                        const char *mask, const char *shared_if, uint32_t flags, char *json, size_t cap,
                                        struct vmlan_iface **out) {
  *out = NULL;
  xpc_object_t desc = xpc_dictionary_create(NULL, NULL, 0);
  xpc_dictionary_set_uint64(desc, vmnet_operation_mode_key, mode);
  if (uuid) xpc_dictionary_set_uuid(desc, vmnet_interface_id_key, uuid); /* a UUID object, never a string */
  if (start && end && mask) {
    xpc_dictionary_set_string(desc, vmnet_start_address_key, start);
    xpc_dictionary_set_string(desc, vmnet_end_address_key, end);
    xpc_dictionary_set_string(desc, vmnet_subnet_mask_key, mask);
  }
  if (mode == VMNET_BRIDGED_MODE && shared_if) xpc_dictionary_set_string(desc, vmnet_shared_interface_name_key, shared_if);
  if (mode != VMNET_BRIDGED_MODE) xpc_dictionary_set_bool(desc, vmnet_enable_isolation_key, flags & VMLAN_F_ISOLATION);
  if (!vmlan_offload_keys(desc, flags)) {
    xpc_release(desc);
    return VMLAN_UNSUPPORTED_KEY;
  }
  return vmlan_start_common(^interface_ref(dispatch_queue_t q, vmnet_start_interface_completion_handler_t handler) {
    return vmnet_start_interface(desc, q, handler);
  }, desc, NULL, json, cap, out);
}

/* The interface_ref for vmnet_read/vmnet_write (platform/darwin/vmnet-port.ts calls them directly). */
EXPORT interface_ref vmlan_iface_ref(struct vmlan_iface *h) { return h ? h->ref : NULL; }

/*
 * The event pump: the callback block writes one byte to a non-blocking pipe (a full pipe already
 * says "packets available", so EAGAIN is fine). JS polls the returned read end, drains it, then
 * calls vmnet_read until it returns 0 packets. Returns the fd, or -status on failure.
 * The block checks `closed` first: vmlan_vmnet_stop sets it before the pipe is closed, so a block
 * vmnet runs late can never write into a reused fd number.
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
  __block int closed = 0;
  vmnet_interface_event_callback_t cb = ^(interface_event_t mask, xpc_object_t event) {
    (void)mask, (void)event;
    if (__atomic_load_n(&closed, __ATOMIC_ACQUIRE)) return;
    char b = 1;
    ssize_t n = write(w, &b, 1);
    (void)n;
  };
  h->events = Block_copy(cb); /* moves `closed` to the heap; &closed now names that copy */
  h->closed = &closed;
  vmnet_return_t st = vmnet_interface_set_event_callback(h->ref, VMNET_INTERFACE_PACKETS_AVAILABLE, h->queue, h->events);
  if (st != VMNET_SUCCESS) {
    close(p[0]), close(p[1]);
    Block_release(h->events);
    h->events = NULL;
    h->closed = NULL;
    return -(int32_t)st;
  }
  h->pipe_r = p[0], h->pipe_w = p[1];
  return h->pipe_r;
}

/*
 * Unsets the callback, stops the interface and waits for the completion, then lets the serial
 * queue drain (a block vmnet queued before the stop runs first) and closes the pipe. Frees the
 * handle even when vmnet reports a failure.
 */
EXPORT vmnet_return_t vmlan_vmnet_stop(struct vmlan_iface *h) {
  if (!h) return VMNET_INVALID_ARGUMENT;
  if (h->closed) __atomic_store_n(h->closed, 1, __ATOMIC_RELEASE);
  if (h->pipe_r >= 0) vmnet_interface_set_event_callback(h->ref, VMNET_INTERFACE_PACKETS_AVAILABLE, NULL, NULL);
  __block vmnet_return_t result = VMNET_FAILURE;
  dispatch_semaphore_t done = dispatch_semaphore_create(0);
  vmnet_return_t st = vmnet_stop_interface(h->ref, h->queue, ^(vmnet_return_t status) {
    result = status;
    dispatch_semaphore_signal(done);
  });
  bool finished = st == VMNET_SUCCESS && dispatch_semaphore_wait(done, dispatch_time(DISPATCH_TIME_NOW, (int64_t)STOP_TIMEOUT_NS)) == 0;
  if (!finished) return st == VMNET_SUCCESS ? VMNET_FAILURE : st; /* h, done stay: a late block may use them */
  dispatch_async(h->queue, ^{ dispatch_semaphore_signal(done); }); /* the queue is drained past this point */
  dispatch_semaphore_wait(done, DISPATCH_TIME_FOREVER);
  if (h->pipe_r >= 0) close(h->pipe_r), close(h->pipe_w);
  if (h->events) Block_release(h->events);
  dispatch_release(done);
  dispatch_release(h->queue);
  free(h);
  return result;
}
