import { resolve } from 'node:path';
import { quietUnwantedWarnings } from '../bin/quiet-warnings.mjs';
import { EXIT } from '../cli/exit-codes.ts';
import { loadConfig } from '../shared/config/load.ts';
import { errorMessage, RelengError } from '../shared/errors.ts';
import {
  HOST_OPERATIONS,
  type HostOperationName,
  isHostOperation,
  type OperationParam,
  paramsOf,
} from '../shared/operations.ts';
import { type Clock, systemClock } from '../shared/ports.ts';
import { createContext, HostOperationError } from './framework/context.ts';
import { unusableTrees } from './framework/mounts.ts';
import type { HostOperation, OperationResult } from './framework/operation.ts';
import { type OperationOptions, parseOperationArgs } from './framework/options.ts';
import { boundedResultLine, resultFilePath, writeResultFile } from './framework/result.ts';

function usage(): string {
  const lines = Object.values(HOST_OPERATIONS).map((op) => `  ${op.name.padEnd(20)} ${op.description}`);
  return [
    'usage: releng-host OPERATION --root DIR [options] [--dry-run] [--json]',
    '       releng-host OPERATION --help (its options, their defaults, an example)',
    '',
    ...lines,
    '',
    'exit codes: 0 success, 1 the operation failed, 2 usage or bad input',
  ].join('\n');
}

/** A value for the generated example: the catalogue's own sample where the description gives one. */
function exampleValue(param: OperationParam): string {
  if (param.kind.type === 'enum') return param.kind.values[0]!;
  if (param.name === 'root') return '/';
  if (param.kind.type === 'pattern' && param.kind.pattern === 'major') return '8';
  const sample = /(?:e\.g\.|:) ([A-Za-z0-9._-]+)/.exec(param.description)?.[1];
  return sample ?? `${param.name.toUpperCase().replaceAll('-', '_')}`;
}

/** What applies when the option is not given, as the page shows it. */
function defaultOf(param: OperationParam): string {
  if (param.required) return ' (required)';
  if (/\(default/.test(param.description)) return '';
  return param.kind.type === 'flag' ? ' (default: off)' : ' (default: not set)';
}

/** `releng-host OPERATION --help`: usage, every catalogue parameter with its meaning and default, an example. */
export function operationUsage(name: HostOperationName): string {
  const params = paramsOf(name);
  const lines = params.map((param) => {
    const value =
      param.kind.type === 'flag'
        ? ''
        : param.kind.type === 'enum'
          ? ` ${param.kind.values.join('|')}`
          : ' VALUE';
    const flag = `  --${param.name}${value}`.padEnd(32);
    return `${flag} ${param.description}${defaultOf(param)}`;
  });
  const required = params
    .filter((param) => param.required)
    .map((param) => `--${param.name} ${exampleValue(param)}`);
  return [
    `usage: releng-host ${name} --root DIR [options]`,
    '',
    HOST_OPERATIONS[name].description,
    '',
    'options:',
    ...lines,
    `  ${'-h, --help'.padEnd(30)} this page`,
    '',
    'example:',
    `  releng-host ${name} ${required.join(' ')} --dry-run`,
    '',
    'exit codes: 0 success, 1 the operation failed, 2 usage or bad input',
  ].join('\n');
}

export interface MainDeps {
  clock?: Clock;
  stdout?: (line: string) => void;
  stderr?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

/**
 * `releng-host OPERATION …`: exit 0 on success, 1 when the operation failed, 2 for a bad
 * command line. The result goes to stdout (one JSON line with --json); progress to stderr.
 */
export async function main(argv: string[], deps: MainDeps = {}): Promise<number> {
  // Here too, not only in bin/: the installed host runs an esbuild bundle of this module.
  quietUnwantedWarnings();
  const stdout = deps.stdout ?? ((line: string) => process.stdout.write(`${line}\n`));
  const stderr = deps.stderr ?? ((line: string) => process.stderr.write(`${line}\n`));
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    (name ? stdout : stderr)(usage());
    return name ? EXIT.OK : EXIT.USAGE;
  }
  if (!isHostOperation(name)) {
    stderr(`releng-host: unknown operation ${JSON.stringify(name)}\n${usage()}`);
    return EXIT.USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    stdout(operationUsage(name));
    return EXIT.OK;
  }
  return runOperation(name, rest, deps, stdout, stderr);
}

/** Parses, runs and reports one operation; generic in it, so its options have its own types. */
async function runOperation<K extends HostOperationName>(
  name: K,
  rest: string[],
  deps: MainDeps,
  stdout: (line: string) => void,
  stderr: (line: string) => void,
): Promise<number> {
  // Imported only to run one: `--help` and usage errors load none of the operations.
  const { OPERATIONS } = await import('./operations/index.ts');
  const operation: HostOperation<K> = OPERATIONS[name];
  let options: OperationOptions<K>;
  let config: ReturnType<typeof loadConfig>;
  try {
    options = parseOperationArgs(name, rest);
    config = loadConfig(options.config, deps.env ?? process.env);
  } catch (err) {
    // Nothing has started: a bad option or config is bad input, whatever the error's own code.
    if (err instanceof RelengError) {
      err.step ??= name;
      stderr(err.describe('releng-host'));
      return EXIT.USAGE;
    }
    throw err;
  }
  const json = options.json;
  const ctx = createContext({
    operation: name,
    config,
    root: resolve(options.root),
    dryRun: options['dry-run'],
    options,
    clock: deps.clock ?? systemClock,
    progress: stderr,
    env: deps.env,
  });
  const result: OperationResult = { operation: name, ok: false, dryRun: ctx.dryRun, plan: ctx.plan };
  if (ctx.logFile) result.log = ctx.logFile;
  let code: number = EXIT.OK;
  try {
    // One place refuses every operation whose trees are not the mounts the config requires.
    const refused = await unusableTrees(config, ctx.root, operation.trees, deps.env);
    if (refused.length) throw new HostOperationError(`${name} refuses to start: ${refused.join('; ')}`);
    Object.assign(result, await operation.run(ctx), { ok: true });
  } catch (err) {
    code = EXIT.FAILED;
    if (err instanceof HostOperationError && err.details) Object.assign(result, err.details, { ok: false });
    result.error = errorMessage(err);
    ctx.log(`FAILED: ${result.error}`);
    // One the operator can act on is its message; anything else is a bug, with its stack.
    if (!(err instanceof RelengError)) stderr(err instanceof Error && err.stack ? err.stack : String(err));
  }
  if (!ctx.dryRun) {
    // The whole result stays on the host; stdout carries a bounded summary that points at it.
    const file = resultFilePath(ctx.root, name, (deps.clock ?? systemClock).now());
    try {
      await writeResultFile(file, { ...result, resultFile: file });
      result.resultFile = file;
    } catch (err) {
      stderr(`releng-host: cannot write the result file ${file}: ${errorMessage(err)}`);
    }
  }
  if (json) {
    stdout(boundedResultLine(result));
    return code;
  }
  for (const line of operation.format?.(result) ?? []) stdout(line);
  stdout(
    result.ok
      ? `${name}: ok${ctx.dryRun ? ' (dry run, nothing changed)' : ''}`
      : `${name}: FAILED: ${result.error}`,
  );
  return code;
}
