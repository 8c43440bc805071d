import { ConfigError } from '../shared/config/load.ts';
import { UsageError } from './args.ts';
import { approvalsCommand, approveCommand, rejectCommand } from './commands/approvals.ts';
import { configCommand } from './commands/config.ts';
import { demoCommand } from './commands/demo.ts';
import { doctorCommand } from './commands/doctor.ts';
import { graphCommand } from './commands/graph.ts';
import { intakeCommand } from './commands/intake.ts';
import { MIRROR_PULL_HELP, mirrorPullCommand } from './commands/mirror-pull.ts';
import { RUN_COMMANDS, rerunCommand, runCommand } from './commands/run.ts';
import { historyCommand, logsCommand, statusCommand } from './commands/status.ts';
import { consoleOutput, type Output } from './output.ts';

type Command = (argv: string[], out: Output) => Promise<number>;

const COMMANDS: Record<string, { run: Command; help: string }> = {
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
  approvals: { run: approvalsCommand, help: 'approvals: pending approvals and what each would publish' },
  approve: { run: approveCommand, help: 'approve ID [--reason WHY]' },
  reject: { run: rejectCommand, help: 'reject ID --reason WHY' },
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
  return [
    'usage: releng COMMAND [options]',
    '',
    ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(14)} ${c.help}`),
  ].join('\n');
}

/** Entry of the `releng` command; returns the exit code. */
export async function main(argv: string[], out: Output = consoleOutput): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === 'help') {
    out.line(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    out.error(`releng: unknown command ${JSON.stringify(name)}; run releng --help`);
    return 2;
  }
  try {
    return await command.run(rest, out);
  } catch (err) {
    if (err instanceof UsageError) {
      out.error(`releng ${name}: ${err.message}`);
      return 2;
    }
    if (err instanceof ConfigError) {
      out.error(err.message);
      return 1;
    }
    out.error(`releng ${name}: ${(err as Error).message}`);
    return 1;
  }
}
