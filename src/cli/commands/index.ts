/** The command map. Every entry is a dynamic import so a command's code loads only when it runs. */
export const commands = {
  network: () => import("./network/index.ts").then((m) => m.default),
  attach: () => import("./attach.ts").then((m) => m.default),
  detach: () => import("./detach.ts").then((m) => m.default),
  attachments: () => import("./attachments.ts").then((m) => m.default),
  helper: () => import("./helper.ts").then((m) => m.default),
  run: () => import("./run.ts").then((m) => m.default),
  broker: () => import("./broker/index.ts").then((m) => m.default),
  system: () => import("./system/index.ts").then((m) => m.default),
  apply: () => import("./apply.ts").then((m) => m.default),
  export: () => import("./export.ts").then((m) => m.default),
  services: () => import("./services.ts").then((m) => m.default),
  dns: () => import("./dns.ts").then((m) => m.default),
  version: () => import("./version.ts").then((m) => m.default),
  completion: () => import("./completion.ts").then((m) => m.default),
};
