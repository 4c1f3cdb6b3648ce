/*
 * A broker client for bun:ffi (src/platform/darwin/xpc-client.ts), as vmnet-broker's own client
 * library and vmnet-helper --network use the service: one connection to the Mach service for the
 * process's life (the broker holds a network while the connection that acquired it lives), an
 * `acquire` request answered synchronously, and the network recreated here from the serialization
 * (vmnet_network_create_with_serialization), so the serialization never leaves C.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vmnet-shim.h"

/* vmnet-broker's status codes (include/vmnet-broker.h there): 0 success .. 7 internal error. */
enum { BROKER_SUCCESS = 0, BROKER_XPC_FAILURE = 1, BROKER_INVALID_REPLY = 2 };

struct vmlan_xpc_client { xpc_connection_t conn; };

/* A connection to `service` (nothing is sent yet; an unknown service shows at the first request). */
EXPORT struct vmlan_xpc_client *vmlan_xpc_connect(const char *service) {
  if (!service || !*service) return NULL;
  struct vmlan_xpc_client *c = calloc(1, sizeof *c);
  c->conn = xpc_connection_create_mach_service(service, NULL, 0);
  /* Required before resume; errors surface as the reply of the request that meets them. */
  xpc_connection_set_event_handler(c->conn, ^(xpc_object_t event) { (void)event; });
  xpc_connection_resume(c->conn);
  return c;
}

static void put_message(char *msg, size_t cap, const char *text) {
  if (cap) snprintf(msg, cap, "%s", text ? text : "");
}

/*
 * Acquires `network` and recreates it here. Returns the vmnet_network_ref (CFRelease it), or NULL
 * with *broker_status (vmnet-broker's codes; 1 = the service could not be reached), *vmnet_status
 * (when recreating failed) and the broker's vmlan_message, if any, in msg.
 */
EXPORT void *vmlan_xpc_acquire(struct vmlan_xpc_client *c, const char *network, int32_t *broker_status, uint32_t *vmnet_status,
                               char *msg, size_t cap) {
  *broker_status = BROKER_XPC_FAILURE;
  *vmnet_status = VMNET_SUCCESS;
  put_message(msg, cap, "");
  if (!c || !network) return NULL;
  xpc_object_t req = xpc_dictionary_create(NULL, NULL, 0);
  xpc_dictionary_set_string(req, "command", "acquire");
  xpc_dictionary_set_string(req, "network_name", network);
  xpc_object_t reply = xpc_connection_send_message_with_reply_sync(c->conn, req);
  xpc_release(req);
  void *net = NULL;
  if (xpc_get_type(reply) == XPC_TYPE_ERROR) {
    put_message(msg, cap, xpc_dictionary_get_string(reply, XPC_ERROR_KEY_DESCRIPTION));
  } else if (xpc_get_type(reply) != XPC_TYPE_DICTIONARY) {
    *broker_status = BROKER_INVALID_REPLY;
  } else if (xpc_dictionary_get_int64(reply, "error")) {
    *broker_status = (int32_t)xpc_dictionary_get_int64(reply, "error");
    put_message(msg, cap, xpc_dictionary_get_string(reply, "vmlan_message"));
  } else {
    xpc_object_t ser = xpc_dictionary_get_value(reply, "network");
    *broker_status = ser ? BROKER_SUCCESS : BROKER_INVALID_REPLY;
    *vmnet_status = VMLAN_UNSUPPORTED_SDK;
#if VMLAN_HAVE_NETWORK_API
    if (ser) {
      if (__builtin_available(macOS 26.0, *)) net = vmnet_network_create_with_serialization(ser, vmnet_status);
    }
#endif
  }
  xpc_release(reply);
  return net;
}

/* Ends the connection: the broker releases what it acquired (a process exit does the same). */
EXPORT void vmlan_xpc_disconnect(struct vmlan_xpc_client *c) {
  if (!c) return;
  xpc_connection_cancel(c->conn);
  xpc_release(c->conn);
  free(c);
}
