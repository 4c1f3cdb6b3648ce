/**
 * Set by the supervisors that start helpers and stop them on purpose (`vm run`, `vmlan demo`,
 * `vmlan run`): a SIGTERM from them, or the VM end closing, is the helper's normal end, which the
 * supervisor knows about already, so the helper does not log it. Failures are logged either way,
 * and a helper started by anyone else (a VMM, a user) logs every stop as before.
 */
export const SUPERVISED_ENV = "VMLAN_HELPER_SUPERVISED";

/** The environment for a helper that a vmlan supervisor starts. */
export function supervisedEnv(): Record<string, string | undefined> {
  return { ...process.env, [SUPERVISED_ENV]: "1" };
}
