/**
 * Where log lines go: JSON on stdout (what Container Apps and any log shipper read), or readable
 * lines when a person watches a terminal. LOG_FORMAT=json|pretty overrides the guess; pretty needs
 * pino-pretty, a development dependency the image does not carry.
 */
import type { LoggerOptions } from "pino";

export async function logDestination(env: NodeJS.ProcessEnv = process.env, isTTY = Boolean(process.stdout.isTTY)): Promise<Pick<LoggerOptions, "transport">> {
  const format = env.LOG_FORMAT?.trim().toLowerCase();
  if (format === "json" || (format !== "pretty" && !isTTY)) return {};
  try {
    await import("pino-pretty");
  } catch {
    return {};
  }
  return { transport: { target: "pino-pretty", options: { translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname", singleLine: true } } };
}
