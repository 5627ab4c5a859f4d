/**
 * What stops the receiver from starting, as one line that says what is wrong and what to do, never a
 * stack trace. The image's entry (serve.ts) and the local stack (`npm start`) both end here, so they
 * print the same line for the same problem. Exit code 2: a setting, a port, the data directory or the
 * database must change; 1: anything else.
 */
import { ConfigErrors } from "./config.ts";
import { DataDirLockedError } from "./store/data-dir-lock.ts";
import { StoreOpenError } from "./store/store-supervisor.ts";

/** A port the process listens on, and the variable that chooses it. */
export interface Listener {
  variable: string;
  port: number;
}

export interface StartUpFailure {
  message: string;
  exitCode: 1 | 2;
}

/** What a failed PostgreSQL sign-in or connection means for whoever wrote DATABASE_URL (SQLSTATEs per PostgreSQL's appendix A). */
function databaseAdvice(code: string | undefined): string {
  switch (code) {
    case "28000": // invalid_authorization_specification: no such role, or pg_hba.conf refuses it
    case "28P01": // invalid_password
      return "check the user and password in DATABASE_URL";
    case "3D000": // invalid_catalog_name
      return "create that database (createdb <name>) or name an existing one in DATABASE_URL";
    case "ECONNREFUSED":
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "ETIMEDOUT":
    case "EHOSTUNREACH":
      return "is PostgreSQL running there? Check DATABASE_URL, or unset it to use the embedded store";
    default:
      return "check DATABASE_URL, or unset it to use the embedded store";
  }
}

export function describeStartUpFailure(error: unknown, listeners: readonly Listener[] = []): StartUpFailure {
  if (error instanceof ConfigErrors) return { message: `configuration ${error.errors.length > 1 ? "errors" : "error"}: ${error.message}`, exitCode: 2 };
  if (error instanceof DataDirLockedError) return { message: error.message, exitCode: 2 };
  if (error instanceof StoreOpenError) {
    const advice = error.target.startsWith("PostgreSQL") ? databaseAdvice(error.code) : "check DATA_DIR (its disk, its permissions), or set DATABASE_URL";
    return { message: `${error.message}; ${advice}`, exitCode: 2 };
  }
  const { code, port, address } = error as NodeJS.ErrnoException & { port?: number; address?: string };
  if (code === "EADDRINUSE" || code === "EACCES") {
    const named = listeners.filter((l) => l.port === port).map((l) => l.variable);
    const variables = (named.length ? named : listeners.map((l) => l.variable)).join(" / ") || "port";
    const where = `port ${port ?? "?"}${address ? ` on ${address}` : ""}`;
    return code === "EADDRINUSE"
      ? { message: `${where} is already in use by another program; stop it or choose another ${variables}`, exitCode: 2 }
      : { message: `no permission to listen on ${where}; choose a ${variables} above 1023`, exitCode: 2 };
  }
  return { message: `could not start: ${error instanceof Error ? error.message : String(error)}`, exitCode: 1 };
}

/** Prints the one line on stderr and exits. */
export function exitOnStartUpFailure(error: unknown, listeners: readonly Listener[] = []): never {
  const { message, exitCode } = describeStartUpFailure(error, listeners);
  console.error(`secure-export receiver: ${message}`);
  process.exit(exitCode);
}
