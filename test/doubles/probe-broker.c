/*
 * A client of vmnet-broker's protocol (its docs/protocol.md: Mach service, request {command,
 * network_name}, reply {network} or {error}), used the way vmnet-helper --network uses a broker:
 * built against the double, it shows that such a client works against `vmlan broker` unchanged.
 *   probe-broker SERVICE acquire NAME [interface]   acquire, recreate the network from the
 *       serialization, optionally start an interface on it (needs VMLAN_DOUBLE_BRIDGE), print
 *       "ok <subnet> <mask>", then hold everything until stdin closes; "fail <step> <code>" otherwise
 *   probe-broker SERVICE raw KEY=VALUE...           send a dictionary of strings (KEY=#N: an int64),
 *       print "error <code>" or "network"
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../shims/vmnet.h"

static void fail(const char *step, long long code) {
  printf("fail %s %lld\n", step, code);
  fflush(stdout);
  exit(1);
}

static xpc_object_t ask(xpc_connection_t c, xpc_object_t req) {
  xpc_object_t reply = xpc_connection_send_message_with_reply_sync(c, req);
  xpc_release(req);
  if (xpc_get_type(reply) == XPC_TYPE_ERROR) fail("xpc", 1);
  if (xpc_get_type(reply) != XPC_TYPE_DICTIONARY) fail("reply", 2);
  return reply;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  xpc_connection_t c = xpc_connection_create_mach_service(argv[1], NULL, 0);
  xpc_connection_set_event_handler(c, ^(xpc_object_t ev) { (void)ev; });
  xpc_connection_resume(c);
  xpc_object_t req = xpc_dictionary_create(NULL, NULL, 0);
  if (strcmp(argv[2], "raw") == 0) {
    for (int i = 3; i < argc; i++) {
      char *eq = strchr(argv[i], '=');
      if (!eq) return 2;
      *eq = 0;
      if (eq[1] == '#') xpc_dictionary_set_int64(req, argv[i], atoll(eq + 2));
      else xpc_dictionary_set_string(req, argv[i], eq + 1);
    }
    xpc_object_t reply = ask(c, req);
    if (xpc_dictionary_get_value(reply, "network")) printf("network\n");
    else printf("error %lld\n", (long long)xpc_dictionary_get_int64(reply, "error"));
    return 0;
  }
  if (argc < 4 || strcmp(argv[2], "acquire") != 0) return 2;
  xpc_dictionary_set_string(req, "command", "acquire");
  xpc_dictionary_set_string(req, "network_name", argv[3]);
  xpc_object_t reply = ask(c, req);
  long long error = xpc_dictionary_get_int64(reply, "error");
  if (error) fail("acquire", error);
  xpc_object_t ser = xpc_dictionary_get_value(reply, "network");
  if (!ser) fail("acquire", 2);
  vmnet_return_t st = 0;
  vmnet_network_ref net = vmnet_network_create_with_serialization(ser, &st);
  xpc_release(reply);
  if (!net) fail("create_with_serialization", st);
  if (argc > 4 && strcmp(argv[4], "interface") == 0) {
    dispatch_queue_t q = dispatch_queue_create("probe", DISPATCH_QUEUE_SERIAL);
    dispatch_semaphore_t done = dispatch_semaphore_create(0);
    __block vmnet_return_t started = VMNET_FAILURE;
    xpc_object_t desc = xpc_dictionary_create(NULL, NULL, 0);
    xpc_dictionary_set_bool(desc, vmnet_allocate_mac_address_key, false);
    interface_ref iface = vmnet_interface_start_with_network(net, desc, q, ^(vmnet_return_t s, xpc_object_t p) {
      (void)p;
      started = s;
      dispatch_semaphore_signal(done);
    });
    dispatch_semaphore_wait(done, DISPATCH_TIME_FOREVER);
    xpc_release(desc);
    if (!iface || started != VMNET_SUCCESS) fail("interface", started);
  }
  struct in_addr a, m;
  char sa[INET_ADDRSTRLEN], sm[INET_ADDRSTRLEN];
  vmnet_network_get_ipv4_subnet(net, &a, &m);
  printf("ok %s %s\n", inet_ntop(AF_INET, &a, sa, sizeof sa), inet_ntop(AF_INET, &m, sm, sizeof sm));
  fflush(stdout);
  char buf[64];
  while (read(0, buf, sizeof buf) > 0) {} /* hold the connection (and so the network) until stdin closes */
  return 0;
}
