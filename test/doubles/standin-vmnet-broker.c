/*
 * A stand-in for vmnet-broker itself, built against the double, to show that vmlan's clients can use a
 * running vmnet-broker instead of vmlan's broker: it serves vmnet-broker's builtin networks "shared"
 * and "host" under the Mach service named argv[1] with vmnet-broker's protocol (docs/protocol.md
 * there: acquire by name, the serialization under `network`, `error` 5 for an unknown name; holds per
 * connection, released when the connection closes). Subnets are vmnet's choice, as vmnet-broker
 * leaves them (the double picks the first free 192.168.x.0/24). Prints "ready", runs until killed.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "../../shims/vmnet.h"

static vmnet_network_ref nets[2];
static xpc_object_t sers[2];
static const char *names[2] = {"shared", "host"};

static xpc_object_t serialization(int i) {
  if (!nets[i]) {
    vmnet_return_t st;
    vmnet_network_configuration_ref cfg = vmnet_network_configuration_create(i ? VMNET_HOST_MODE : VMNET_SHARED_MODE, &st);
    nets[i] = vmnet_network_create(cfg, &st);
    CFRelease(cfg);
    if (nets[i]) sers[i] = vmnet_network_copy_serialization(nets[i], &st);
  }
  return sers[i];
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  dispatch_queue_t q = dispatch_queue_create("standin", DISPATCH_QUEUE_SERIAL);
  xpc_connection_t l = xpc_connection_create_mach_service(argv[1], q, XPC_CONNECTION_MACH_SERVICE_LISTENER);
  xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
    if (xpc_get_type(ev) != XPC_TYPE_CONNECTION) return;
    xpc_connection_t peer = ev;
    xpc_connection_set_target_queue(peer, q);
    xpc_connection_set_event_handler(peer, ^(xpc_object_t msg) {
      if (xpc_get_type(msg) != XPC_TYPE_DICTIONARY) return;
      xpc_object_t reply = xpc_dictionary_create_reply(msg);
      const char *cmd = xpc_dictionary_get_string(msg, "command"), *name = xpc_dictionary_get_string(msg, "network_name");
      int i = name ? (strcmp(name, names[0]) == 0 ? 0 : strcmp(name, names[1]) == 0 ? 1 : -1) : -1;
      xpc_object_t ser = i >= 0 && cmd && strcmp(cmd, "acquire") == 0 ? serialization(i) : NULL;
      if (ser) xpc_dictionary_set_value(reply, "network", ser);
      else xpc_dictionary_set_int64(reply, "error", !cmd || !name ? 4 : i < 0 ? 5 : 6);
      xpc_connection_send_message(peer, reply);
      xpc_release(reply);
    });
    xpc_connection_resume(peer);
  });
  xpc_connection_resume(l);
  printf("ready\n");
  fflush(stdout);
  for (;;) pause();
}
