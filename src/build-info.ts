/**
 * What this binary is: version, commit and target. scripts/build.ts passes all three with `--define`,
 * so a compiled binary carries plain string literals (the minifier folds the `typeof` checks away).
 * Under `bun src/main.ts` the globals are not defined and the dev values below apply.
 */
import { version as packageVersion } from "../package.json" with { type: "json" };

// Replaced by `bun build --define`; never assigned at run time.
declare const VMLAN_VERSION: string;
declare const VMLAN_COMMIT: string;
declare const VMLAN_TARGET: string;

/** package.json "version" at build time, e.g. "0.1.0". */
export const VERSION: string = typeof VMLAN_VERSION !== "undefined" ? VMLAN_VERSION : packageVersion;
/** `git rev-parse --short HEAD` at build time, "unknown" outside a git checkout, "dev" when not compiled. */
export const COMMIT: string = typeof VMLAN_COMMIT !== "undefined" ? VMLAN_COMMIT : "dev";
/** Build target such as "linux-x64" or "darwin-arm64". */
export const TARGET: string = typeof VMLAN_TARGET !== "undefined" ? VMLAN_TARGET : `${process.platform}-${process.arch}`;
