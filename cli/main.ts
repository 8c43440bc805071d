import { ConfigError } from '../shared/config/load.ts';
import { splitCommandLine, UsageError } from './args.ts';
import { approvalsCommand, approveCommand, rejectCommand } from './commands/approvals.ts';
import { configCommand } from './commands/config.ts';
import { demoCommand } from './commands/demo.ts';
import { doctorCommand } from './commands/doctor.ts';
import { graphCommand } from './commands/graph.ts';
import { intakeCommand } from './commands/intake.ts';
import { locksCommand, unlockCommand } from './commands/locks.ts';
import { MIRROR_PULL_HELP, mirrorPullCommand } from './commands/mirror-pull.ts';
import { RUN_COMMANDS, rerunCommand, runCommand } from './commands/run.ts';
import { historyCommand, logsCommand, statusCommand } from './commands/status.ts';
import { withdrawCommand } from './commands/withdraw.ts';
import { EXIT } from './exit-codes.ts';
import { commandHelp, GLOBAL_VALUE_OPTIONS, topLevelHelp, version } from './help.ts';
import { HELP_PAGES } from './help-pages.ts';
import { consoleOutput, type Output } from './output.ts';

type Command = (argv: string[], out: Output) => Promise<number>;

export const COMMANDS: Record<string, { run: Command; help: string }> = {
  config: { run: configCommand, help: 'config show [--major N] [--json] | config check FILE' },
  intake: { run: intakeCommand, help: 'intake koji FILE [--root DIR] [--json] [--dry-run]' },
  demo: {
    run: demoCommand,
    help: 'demo [--root DIR] [--release 8.10] [--yes] [--json]: one full cycle, locally',
  },
  ...Object.fromEntries(
    Object.entries(RUN_COMMANDS).map(([name, spec]) => [name, { run: runCommand(name), help: spec.help }]),
  ),
  rerun: {
    run: rerunCommand,
    help: 'rerun EXECUTION: start it again with its input, after fixing the cause',
  },
  withdraw: {
    run: withdrawCommand,
    help: 'withdraw ID --reason WHY: the requester takes back their own request',
  },
  approvals: { run: approvalsCommand, help: 'approvals: pending approvals and what each would publish' },
  approve: { run: approveCommand, help: 'approve ID [--reason WHY]' },
  reject: { run: rejectCommand, help: 'reject ID --reason WHY' },
  locks: {
    run: locksCommand,
    help: 'locks [--audit] [--json]: every lock, its holder, host, pid, age and expiry',
  },
  unlock: {
    run: unlockCommand,
    help: 'unlock LOCK --reason WHY [--force]: free a lock whose holder is gone',
  },
  status: { run: statusCommand, help: 'status: running and recent executions, current steps, locks' },
  history: { run: historyCommand, help: 'history EXECUTION: events and step durations' },
  logs: { run: logsCommand, help: 'logs EXECUTION [--step STATE]: host operation output' },
  'mirror-pull': { run: mirrorPullCommand, help: MIRROR_PULL_HELP },
  graph: { run: graphCommand, help: 'graph MACHINE [--format mermaid|dot|svg] [--output FILE]' },
  doctor: {
    run: doctorCommand,
    help: 'doctor [--major N] [--engine local|aws]: the compose host has its tools, mounts, key and space',
  },
};

function usage(): string {
  return topLevelHelp(
    Object.fromEntries(Object.entries(COMMANDS).map(([n, c]) => [n, HELP_PAGES[n]?.summary ?? c.help])),
  );
}

/** The help page of a command (or its subcommand), or its one-line help when it has no page yet. */
function helpOf(name: string, subcommand?: string): string {
  return commandHelp(name, subcommand) ?? `usage: releng ${COMMANDS[name]!.help}`;
}

/**
 * With --json, a failure is one JSON object on stdout too, so scripts can parse it; it names the
 * execution the command last started, if any.
 */
function failure(
  out: Output,
  json: boolean,
  text: string,
  execution: string | undefined,
  code: number,
): number {
  out.error(text);
  if (json) out.json({ error: text, ...(execution ? { execution } : {}), exitCode: code });
  return code;
}

/** Entry of the `releng` command; returns the exit code (cli/exit-codes.ts). */
export async function main(argv: string[], baseOut: Output = consoleOutput): Promise<number> {
  const line = splitCommandLine(argv, GLOBAL_VALUE_OPTIONS);
  let execution: string | undefined;
  const out: Output = {
    ...baseOut,
    ...(line.verbose ? { verbose: true } : {}),
    startedExecution: (name) => {
      execution = name;
      baseOut.startedExecution?.(name);
    },
  };
  const { command: name, rest } = line;
  if (name === 'help') {
    const [topic, sub] = rest;
    if (!topic) out.line(usage());
    else if (COMMANDS[topic]) out.line(helpOf(topic, sub));
    else
      return failure(
        out,
        false,
        `releng help: unknown command ${JSON.stringify(topic)}; run releng --help`,
        undefined,
        EXIT.USAGE,
      );
    return EXIT.OK;
  }
  if (!name) {
    if (line.version) out.line(`releng ${version()}`);
    else if (line.help) out.line(usage());
    else out.error(usage());
    return line.version || line.help ? EXIT.OK : EXIT.USAGE;
  }
  const command = COMMANDS[name];
  if (!command) {
    const text = `releng: unknown command ${JSON.stringify(name)}; run releng --help`;
    return failure(out, line.json, text, undefined, EXIT.USAGE);
  }
  if (line.help) {
    const sub = rest.find((arg) => !arg.startsWith('-'));
    out.line(helpOf(name, sub));
    return EXIT.OK;
  }
  try {
    return await command.run(rest, out);
  } catch (err) {
    if (err instanceof UsageError) {
      const hint = err.unknownOption ? ` (releng ${name} --help lists its options)` : '';
      return failure(out, line.json, `releng ${name}: ${err.message}${hint}`, execution, EXIT.USAGE);
    }
    if (err instanceof ConfigError) return failure(out, line.json, err.message, execution, EXIT.FAILED);
    return failure(out, line.json, `releng ${name}: ${(err as Error).message}`, execution, EXIT.FAILED);
  }
}
