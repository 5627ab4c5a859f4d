#!/usr/bin/env node
/**
 * `npx secure-export <group> <command>`: see and act on what a receiver holds, from a terminal.
 * Finds the receiver and the local issuer the way `send-alert` does (--receiver/--issuer, or
 * RECEIVER_URL/ISSUER_URL); gets its own token (see token.ts).
 */
import { parseArgs } from "node:util";
import { DEFAULT_RECEIVER_PORT } from "../local/local-identity.ts";
import { ReceiverClient } from "./client.ts";
import { COMMANDS, type Command, type OptionSpec, type Values } from "./commands.ts";
import { CliError, UsageError } from "./errors.ts";
import { AUTH_MODES, type AuthMode } from "./token.ts";

const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  receiver: { type: "string", usage: "--receiver URL", help: `the receiver (RECEIVER_URL; default http://127.0.0.1:${DEFAULT_RECEIVER_PORT})` },
  issuer: { type: "string", usage: "--issuer URL", help: "the local token issuer (ISSUER_URL; default: the authority the receiver names)" },
  auth: { type: "string", usage: `--auth ${AUTH_MODES.join("|")}`, help: "how to get a token (default auto: the local issuer for a local stack, else the Azure CLI login, else a device code)" },
  help: { type: "boolean", usage: "-h, --help", help: "show help" },
};

const GROUPS = [...new Set(COMMANDS.map((c) => c.path[0]))];

function optionLines(options: Record<string, OptionSpec>): string[] {
  const width = Math.max(...Object.values(options).map((o) => o.usage.length));
  return Object.values(options).map((o) => `  ${o.usage.padEnd(width)}  ${o.help}`);
}

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => `${c.path.join(" ")} ${c.args.join(" ")}`.length));
  return [
    "usage: secure-export <command> [options]      (or: npm run cli -- <command> [options])",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${`${c.path.join(" ")} ${c.args.join(" ")}`.padEnd(width)}  ${c.summary}`),
    "",
    "Options for every command:",
    ...optionLines(GLOBAL_OPTIONS),
    "",
    "Tokens: the local stack's issuer signs one automatically. In Azure the Azure CLI login is used",
    "(az login), or a device-code sign-in; SECURE_EXPORT_TOKEN, if set, is used as it is.",
    "Run `secure-export <command> --help` for a command's options.",
  ].join("\n");
}

function groupHelp(group: string): string {
  const commands = COMMANDS.filter((c) => c.path[0] === group);
  const width = Math.max(...commands.map((c) => `${c.path[1]} ${c.args.join(" ")}`.length));
  return [`usage: secure-export ${group} <command> [options]`, "", "Commands:", ...commands.map((c) => `  ${`${c.path[1]} ${c.args.join(" ")}`.padEnd(width)}  ${c.summary}`), "", `Run \`secure-export ${group} <command> --help\` for its options.`].join("\n");
}

function commandHelp(command: Command): string {
  return [
    `usage: secure-export ${command.path.join(" ")}${command.args.length ? ` ${command.args.join(" ")}` : ""} [options]`,
    "",
    command.summary,
    "",
    "Options:",
    ...optionLines({ ...command.options, ...GLOBAL_OPTIONS }),
  ].join("\n");
}

function parse(argv: string[]) {
  const all: Record<string, OptionSpec> = { ...GLOBAL_OPTIONS, ...Object.assign({}, ...COMMANDS.map((c) => c.options)) };
  const options = Object.fromEntries(Object.entries(all).map(([name, spec]) => [name, { type: spec.type, ...(name === "help" ? { short: "h" } : {}) }]));
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] };
  } catch (error) {
    // Node's message goes on about positionals after `--`; its first sentence is the useful part.
    throw new UsageError(`${/^[^.]*\./.exec((error as Error).message)?.[0] ?? (error as Error).message}\nRun \`secure-export --help\` for usage.`);
  }
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv);
  const [group, name, ...args] = positionals;
  if (!group) {
    if (values.help) return void console.log(mainHelp());
    throw new UsageError(mainHelp());
  }
  if (!GROUPS.includes(group)) throw new UsageError(`unknown command "${group}"; commands: ${GROUPS.join(", ")}. Run \`secure-export --help\`.`);
  // A command of one word (status) takes what follows as its arguments.
  const single = COMMANDS.find((c) => c.path.length === 1 && c.path[0] === group);
  const command = single ?? COMMANDS.find((c) => c.path[0] === group && c.path[1] === name);
  if (single && name !== undefined) {
    args.unshift(name);
    if (args.length > single.args.length) throw new UsageError(`unexpected argument "${args[single.args.length]}"\n\n${commandHelp(single)}`);
  }
  if (!command) {
    if (!name && values.help) return void console.log(groupHelp(group));
    throw new UsageError(name ? `unknown command "${group} ${name}"\n\n${groupHelp(group)}` : groupHelp(group));
  }
  if (values.help) return void console.log(commandHelp(command));
  for (const [option, value] of Object.entries(values)) {
    if (value !== undefined && !(option in command.options) && !(option in GLOBAL_OPTIONS)) {
      throw new UsageError(`--${option} is not an option of "${command.path.join(" ")}"\n\n${commandHelp(command)}`);
    }
  }
  const auth = (values.auth ?? "auto") as AuthMode;
  if (!AUTH_MODES.includes(auth)) throw new UsageError(`--auth must be one of ${AUTH_MODES.join(", ")}, got "${String(values.auth)}"`);
  const receiver = (values.receiver as string | undefined) ?? process.env.RECEIVER_URL ?? `http://127.0.0.1:${DEFAULT_RECEIVER_PORT}`;
  const issuerUrl = ((values.issuer as string | undefined) ?? process.env.ISSUER_URL)?.replace(/\/+$/, "");
  const client = new ReceiverClient(receiver, { mode: auth, issuerUrl, token: process.env.SECURE_EXPORT_TOKEN?.trim() || undefined });
  await command.run(client, args, values, (text) => console.log(text));
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof CliError) {
    console.error(`secure-export: ${error.message}`);
    process.exitCode = error.exitCode;
  } else {
    throw error;
  }
}
