// Attaches `count` ids (`<prefix>-<i>`) in one process, one transaction each, then exits; used by the concurrency test.
import { Store } from "../../src/core/store/store.ts";
import { LeaseService } from "../../src/core/leases.ts";

const [path, network, count, prefix] = process.argv.slice(2);
const store = new Store(path!, () => {});
const leases = new LeaseService(store);
for (let i = 0; i < Number(count); i++) leases.attach({ network: network!, id: `${prefix}-${i}` });
store.close();
