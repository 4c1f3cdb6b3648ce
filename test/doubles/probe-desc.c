/*
 * Calls the double's block APIs the wrong way from C (JS cannot make blocks) and prints one line per
 * case: "<case> <status> <violations reported>". Built and run by test/ffi/vmnet-double.test.ts with
 * VMLAN_DOUBLE_BRIDGE unset, so even a wrongly accepted start could not create a TAP.
 */
#include <stdio.h>
#include "../../shims/vmnet.h"

uint64_t vmnet_double_violations(void);

static vmnet_return_t start(xpc_object_t desc, dispatch_queue_t q) {
  __block vmnet_return_t status = 0;
  dispatch_semaphore_t done = dispatch_semaphore_create(0);
  interface_ref i = vmnet_start_interface(desc, q, ^(vmnet_return_t st, xpc_object_t param) {
    (void)param;
    status = st;
    dispatch_semaphore_signal(done);
  });
  if (q) dispatch_semaphore_wait(done, dispatch_time(DISPATCH_TIME_NOW, 2 * (int64_t)NSEC_PER_SEC));
  dispatch_release(done);
  return i || status ? status : VMNET_INVALID_ARGUMENT;
}

static void report(const char *name, vmnet_return_t st, uint64_t before) {
  printf("%s %u %llu\n", name, st, (unsigned long long)(vmnet_double_violations() - before));
}

int main(void) {
  dispatch_queue_t q = dispatch_queue_create("probe", DISPATCH_QUEUE_SERIAL);
  uint64_t v = vmnet_double_violations();
  xpc_object_t d = xpc_dictionary_create(NULL, NULL, 0);
  xpc_dictionary_set_uint64(d, vmnet_operation_mode_key, VMNET_SHARED_MODE);
  xpc_dictionary_set_string(d, vmnet_interface_id_key, "2835E074-9892-4A79-AFFB-7E41D2605678");
  report("uuid-as-string", start(d, q), v);
  xpc_release(d);

  v = vmnet_double_violations();
  d = xpc_dictionary_create(NULL, NULL, 0);
  xpc_dictionary_set_uint64(d, vmnet_operation_mode_key, VMNET_SHARED_MODE);
  report("null-queue", start(d, NULL), v);

  v = vmnet_double_violations();
  xpc_dictionary_set_string(d, vmnet_start_address_key, "192.168.70.1");
  report("partial-range", start(d, q), v);
  xpc_release(d);

  v = vmnet_double_violations();
  d = xpc_dictionary_create(NULL, NULL, 0);
  xpc_dictionary_set_string(d, vmnet_operation_mode_key, "shared");
  report("mode-as-string", start(d, q), v);
  xpc_release(d);

  v = vmnet_double_violations();
  d = xpc_dictionary_create(NULL, NULL, 0);
  xpc_dictionary_set_uint64(d, vmnet_operation_mode_key, VMNET_HOST_MODE);
  xpc_dictionary_set_bool(d, "vmnet_enable_tsoo", true);
  report("unknown-key", start(d, q), v);
  xpc_release(d);

  v = vmnet_double_violations();
  d = xpc_dictionary_create(NULL, NULL, 0);
  xpc_dictionary_set_uint64(d, vmnet_operation_mode_key, VMNET_HOST_MODE);
  report("no-bridge", start(d, q), v); /* valid descriptor: fails only because no bridge backs vmnet */
  xpc_release(d);

  v = vmnet_double_violations();
  int n = 1;
  struct vmpktdesc p = {0};
  report("read-null-iface", vmnet_read(NULL, &p, &n), v);
  dispatch_release(q);
  return 0;
}
