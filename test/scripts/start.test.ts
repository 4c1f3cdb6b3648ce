/** npm start's host check (scripts/start.ts); the real runs are in test/integration/vm/quickstart.test.ts. */
import { expect, test } from "bun:test";
import { hostProblem, START_REQUIREMENTS } from "../../scripts/start.ts";

test("Linux as root with /dev/net/tun, and macOS, can run the demo", () => {
  expect(hostProblem({ platform: "linux", uid: 0, tun: true })).toBeNull();
  expect(hostProblem({ platform: "darwin", uid: 501, tun: false })).toBeNull();
});

test("each missing piece gets one line with what to run instead; root is checked before the device", () => {
  expect(hostProblem({ platform: "linux", uid: 1000, tun: false })).toMatch(/^npm start needs root .*`sudo npm start`/);
  expect(hostProblem({ platform: "linux", uid: 0, tun: false })).toMatch(/^npm start needs \/dev\/net\/tun .*`modprobe tun`/);
  expect(hostProblem({ platform: "win32", uid: undefined, tun: false })).toMatch(/^npm start runs the demo on Linux and macOS, not on win32; `npm run build -- --host`/);
});

test("what npm start installs: iproute2, nftables and QEMU, nothing else", () => {
  expect(START_REQUIREMENTS.map((r) => r.debianPackage)).toEqual(["iproute2", "nftables", "qemu-system-x86"]);
});
