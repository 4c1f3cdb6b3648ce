/**
 * Typed errors with a stable code and an exit code. The CLI runner prints one line
 * (`error: <message>`) or a JSON object, and exits with `exitCode`.
 *
 * Exit codes (documented in README):
 *   1 internal / unexpected, 2 bad input (usage), 3 not found, 4 conflict,
 *   5 permission, 6 system call or host failure, 7 store failure.
 */
export class VmlanError extends Error {
  readonly code: string;
  readonly exitCode: number;
  readonly details?: Record<string, unknown>;
  /** Lines printed after the message for people (one per problem); JSON output has them in details. */
  readonly lines: readonly string[];
  constructor(message: string, opts: { code?: string; exitCode?: number; details?: Record<string, unknown>; cause?: unknown; lines?: readonly string[] } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code ?? "EINTERNAL";
    this.exitCode = opts.exitCode ?? 1;
    this.details = opts.details;
    this.lines = opts.lines ?? [];
  }
}

type Opts = { details?: Record<string, unknown>; cause?: unknown; code?: string; lines?: readonly string[] };

export class UsageError extends VmlanError {
  constructor(message: string, o: Opts = {}) { super(message, { code: "EUSAGE", ...o, exitCode: 2 }); }
}
export class NotFoundError extends VmlanError {
  constructor(message: string, o: Opts = {}) { super(message, { code: "ENOTFOUND", ...o, exitCode: 3 }); }
}
export class ConflictError extends VmlanError {
  constructor(message: string, o: Opts = {}) { super(message, { code: "ECONFLICT", ...o, exitCode: 4 }); }
}
export class PermissionError extends VmlanError {
  constructor(message: string, o: Opts = {}) { super(message, { code: "EPERM", ...o, exitCode: 5 }); }
}
export class SyscallError extends VmlanError {
  readonly syscall: string;
  readonly errno: number;
  constructor(syscall: string, errno: number, errnoName: string, subject?: string, o: Opts = {}) {
    super(`${syscall}${subject ? ` ${subject}` : ""}: ${errnoName} (errno ${errno})`, {
      code: errnoName, ...o, exitCode: errno === 1 /* EPERM */ || errno === 13 /* EACCES */ ? 5 : 6,
    });
    this.syscall = syscall;
    this.errno = errno;
  }
}
export class HostError extends VmlanError {
  constructor(message: string, o: Opts = {}) { super(message, { code: "EHOST", ...o, exitCode: 6 }); }
}
export class StoreError extends VmlanError {
  constructor(message: string, o: Opts = {}) { super(message, { code: "ESTORE", ...o, exitCode: 7 }); }
}
