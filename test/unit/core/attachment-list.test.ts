// Listings show each attachment's own anti-spoofing opt-out (read for all rows at once).
import { expect, test } from "bun:test";
import { addNetwork, services } from "../../support/memory.ts";

test("attachments lists allowSpoofing per attachment, of one network or all, released ones too", () => {
  const { store, leases } = services();
  addNetwork(store, "a", "10.40.0.0/24");
  addNetwork(store, "b", "10.41.0.0/24");
  leases.attach({ network: "a", id: "open", allowSpoofing: true });
  leases.attach({ network: "a", id: "guarded" });
  leases.attach({ network: "b", id: "open", allowSpoofing: false });
  leases.attach({ network: "b", id: "other", allowSpoofing: true });
  leases.detach("b", "other");
  const view = (xs: Array<{ network: string; id: string; allowSpoofing?: boolean }>) => xs.map((x) => `${x.network}/${x.id}:${x.allowSpoofing}`).sort();
  expect(view(leases.list("a"))).toEqual(["a/guarded:false", "a/open:true"]);
  expect(view(leases.list())).toEqual(["a/guarded:false", "a/open:true", "b/open:false"]);
  expect(view(leases.list("b", true))).toEqual(["b/open:false", "b/other:true"]);
  // Re-attached without the flag, a released claim keeps its setting.
  expect(leases.attach({ network: "b", id: "other" }).attachment.allowSpoofing).toBe(true);
});
