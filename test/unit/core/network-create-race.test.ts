// Another process's identical `network create` can commit between any two of our store reads made
// outside a transaction (each sees the latest commit). Whichever read it lands before, ours must
// end "unchanged", never "overlaps network same" (a full-suite run of 20 creates at once hit that).
import { expect, test } from "bun:test";
import { NetworkService } from "../../../src/core/networks.ts";
import type { Store } from "../../../src/core/store/store.ts";
import type { Platform } from "../../../src/platform/types.ts";
import { addNetwork, memoryStore } from "../../support/memory.ts";

const REQ = { name: "same", subnet: "10.67.0.0/24" };
const host = new Proxy({ os: "linux" } as unknown as Platform, {
  get: (t, k) => (k in t ? (t as unknown as Record<string | symbol, unknown>)[k] : k === "checkPrivileges" ? () => {} : async () => {}),
});

/** The store, with the other create's commit made just before our `at`-th call (none inside our transactions). */
function racedStore(at: number): { store: Store; landed: () => boolean } {
  const real = memoryStore();
  let calls = 0;
  let depth = 0;
  let landed = false;
  const store = new Proxy(real, {
    get(t, k) {
      const v = Reflect.get(t, k, t) as unknown;
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        if (depth === 0 && calls++ === at && !landed) {
          addNetwork(real, REQ.name, REQ.subnet);
          landed = true;
        }
        if (k !== "tx") return (v as (...a: unknown[]) => unknown).apply(t, args);
        depth++;
        try {
          return (v as (f: unknown) => unknown).call(t, args[0]);
        } finally {
          depth--;
        }
      };
    },
  });
  return { store, landed: () => landed };
}

test("an identical create that commits between any two of our reads leaves ours unchanged, never an overlap error", async () => {
  let tried = 0;
  for (let at = 0; ; at++) {
    const { store, landed } = racedStore(at);
    const r = await new NetworkService(store, host).create(REQ).then((x) => x.outcome, (e: Error) => e.message);
    if (!landed()) break; // every call of ours came before: we created it ourselves
    expect({ at, outcome: r }).toEqual({ at, outcome: "unchanged" });
    tried++;
  }
  expect(tried).toBeGreaterThan(2);
});
