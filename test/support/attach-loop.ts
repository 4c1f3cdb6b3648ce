// Attaches ids forever in one process (one transaction each) until killed; used by the crash test.
import { Store } from "../../src/core/store/store.ts";
import { LeaseService } from "../../src/core/leases.ts";

const [path, network] = process.argv.slice(2);
const leases = new LeaseService(new Store(path!));
process.stdout.write("ready\n");
for (let i = 0; ; i++) {
  leases.attach({ network: network!, id: `loop-${i}` });
  if (i % 3 === 2) leases.detach(network!, `loop-${i - 1}`);
}
