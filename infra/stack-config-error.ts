/**
 * The one error the program raises for a bad stack: it names the key (or the stack name) and what
 * to do, and carries a stable code for scripts. In its own module so that every module checking a
 * part of the configuration can raise it without importing stack-config.ts (which imports them).
 */
export class StackConfigError extends Error {
  /** Stable code for scripts: STACK_CONFIG_INVALID (a key's value) or STACK_NAME_INVALID. */
  readonly code: "STACK_CONFIG_INVALID" | "STACK_NAME_INVALID";
  constructor(key: string | { stack: string }, problem: string) {
    super(typeof key === "string" ? `secure-export:${key} ${problem}` : `stack name "${key.stack}" ${problem}`);
    this.name = "StackConfigError";
    this.code = typeof key === "string" ? "STACK_CONFIG_INVALID" : "STACK_NAME_INVALID";
  }
}
