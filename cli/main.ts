import { errorMessage, RelengError } from '../shared/errors.ts';
import { splitCommandLine } from './args.ts';
import { MIRROR_PULL_HELP, RUN_COMMANDS } from './commands/run-specs.ts';
import { EXIT } from './exit-codes.ts';
import { commandHelp, GLOBAL_VALUE_OPTIONS, topLevelHelp, version } from './help.ts';
import { HELP_PAGES } from './help-pages.ts';
import { consoleOutput, type Output } from './output.ts';

type Command = (argv: string[], out: Output) => Promise<number>;

/**
 * A command whose module is imported when it runs: `releng --help` and every other command
 * then load neither the engine, aws-cdk-lib nor the AWS SDK they do not use.
 */
function lazy<M>(load: () => Promise<M>, pick: (module: M) => Command): Command {
  return async (argv, out) => pick(await load())(argv, out);
}
const approvals = () => import('./commands/approvals.ts');
const locks = () => import('./commands/locks.ts');
const run = () => import('./commands/run.ts');
const status = () => import('./commands/status.ts');

export const COMMANDS: Record<string, { run: Command; help: string }> = {
  config: {
    run: lazy(
      () => import('./commands/config.ts'),
      (m) => m.configCommand,
    ),
    help: 'config show [--major N] [--json] | config check FILE',
  },
  intake: {
    run: lazy(
      () => import('./commands/intake.ts'),
      (m) => m.intakeCommand,
    ),
    help: 'intake koji FILE [--root DIR] [--json] [--dry-run]',
  },
  demo: {
    run: lazy(
      () => import('./commands/demo.ts'),
      (m) => m.demoCommand,
    ),
    help: 'demo [--root DIR] [--release 8.10] [--yes] [--json]: one full cycle, locally',
  },
  ...Object.fromEntries(
    Object.entries(RUN_COMMANDS).map(([name, spec]) => [
      name,
      { run: lazy(run, (m) => m.runCommand(name)), help: spec.help },
    ]),
  ),
  rerun: {
    run: lazy(run, (m) => m.rerunCommand),
    help: 'rerun EXECUTION: start it again with its input, after fixing the cause',
  },
  withdraw: {
    run: lazy(
      () => import('./commands/withdraw.ts'),
      (m) => m.withdrawCommand,
    ),
    help: 'withdraw ID --reason WHY: the requester takes back their own request',
  },
  approvals: {
    run: lazy(approvals, (m) => m.approvalsCommand),
    help: 'approvals: pending approvals and what each would publish',
  },
  approve: { run: lazy(approvals, (m) => m.approveCommand), help: 'approve ID [--reason WHY]' },
  reject: { run: lazy(approvals, (m) => m.rejectCommand), help: 'reject ID --reason WHY' },
  locks: {
    run: lazy(locks, (m) => m.locksCommand),
    help: 'locks [--audit] [--json]: every lock, its holder, host, pid, age and expiry',
  },
  unlock: {
    run: lazy(locks, (m) => m.unlockCommand),
    help: 'unlock LOCK --reason WHY [--force]: free a lock whose holder is gone',
  },
  status: {
    run: lazy(status, (m) => m.statusCommand),
    help: 'status: running and recent executions, current steps, locks',
  },
  history: {
    run: lazy(status, (m) => m.historyCommand),
    help: 'history EXECUTION: events and step durations',
  },
  logs: {
    run: lazy(status, (m) => m.logsCommand),
    help: 'logs EXECUTION [--step STATE]: host operation output',
  },
  'mirror-pull': {
    run: lazy(
      () => import('./commands/mirror-pull.ts'),
      (m) => m.mirrorPullCommand,
    ),
    help: MIRROR_PULL_HELP,
  },
  graph: {
    run: lazy(
      () => import('./commands/graph.ts'),
      (m) => m.graphCommand,
    ),
    help: 'graph MACHINE [--format mermaid|dot|svg] [--output FILE]',
  },
  doctor: {
    run: lazy(
      () => import('./commands/doctor.ts'),
      (m) => m.doctorCommand,
    ),
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
    if (err instanceof RelengError) {
      err.step ??= name;
      return failure(out, line.json, err.describe('releng'), execution, err.exitCode);
    }
    return failure(out, line.json, `releng ${name}: ${errorMessage(err)}`, execution, EXIT.FAILED);
  }
}
