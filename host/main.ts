import { resolve } from 'node:path';
import { ConfigError, loadConfig } from '../shared/config/load.ts';
import { HOST_OPERATIONS, isHostOperation, ParamError } from '../shared/operations.ts';
import { type Clock, systemClock } from '../shared/ports.ts';
import { createContext, HostOperationError } from './framework/context.ts';
import type { OperationResult } from './framework/operation.ts';
import { parseOperationArgs } from './framework/options.ts';
import { OPERATIONS } from './operations/index.ts';

function usage(): string {
  const lines = Object.values(HOST_OPERATIONS).map((op) => `  ${op.name.padEnd(20)} ${op.description}`);
  return ['usage: releng-host OPERATION --root DIR [options] [--dry-run] [--json]', '', ...lines].join('\n');
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
  const stdout = deps.stdout ?? ((line: string) => process.stdout.write(`${line}\n`));
  const stderr = deps.stderr ?? ((line: string) => process.stderr.write(`${line}\n`));
  const [name, ...rest] = argv;
  if (!name || name === '--help') {
    (name ? stdout : stderr)(usage());
    return name ? 0 : 2;
  }
  if (!isHostOperation(name)) {
    stderr(`releng-host: unknown operation ${JSON.stringify(name)}\n${usage()}`);
    return 2;
  }
  const operation = OPERATIONS[name];
  if (!operation) {
    stderr(`releng-host: ${name} is not implemented yet`);
    return 2;
  }
  let options: ReturnType<typeof parseOperationArgs>;
  let config: ReturnType<typeof loadConfig>;
  try {
    options = parseOperationArgs(name, rest);
    config = loadConfig(options.config as string | undefined, deps.env ?? process.env);
  } catch (err) {
    if (err instanceof ParamError || err instanceof ConfigError) {
      stderr(`releng-host: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const json = options.json === true;
  const ctx = createContext({
    operation: name,
    config,
    root: resolve(options.root as string),
    dryRun: options['dry-run'] === true,
    options,
    clock: deps.clock ?? systemClock,
    progress: stderr,
    env: deps.env,
  });
  const result: OperationResult = { operation: name, ok: false, dryRun: ctx.dryRun, plan: ctx.plan };
  if (ctx.logFile) result.log = ctx.logFile;
  let code = 0;
  try {
    Object.assign(result, await operation.run(ctx), { ok: true });
  } catch (err) {
    code = 1;
    result.error = (err as Error).message;
    ctx.log(`FAILED: ${result.error}`);
    if (!(err instanceof HostOperationError || err instanceof ParamError)) {
      stderr((err as Error).stack ?? String(err));
    }
  }
  if (json) stdout(JSON.stringify(result));
  else
    stdout(
      result.ok
        ? `${name}: ok${ctx.dryRun ? ' (dry run, nothing changed)' : ''}`
        : `${name}: FAILED: ${result.error}`,
    );
  return code;
}
