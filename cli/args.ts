import { type ParseArgsConfig, parseArgs } from 'node:util';
import { HELP_HINT, RelengError } from '../shared/errors.ts';
import { EXIT } from '../shared/exit-codes.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** A mistake in how a command was called: printed as one line, exit code 2. */
export class UsageError extends RelengError {
  override readonly name = 'UsageError';
  /** The options the command's parser accepts, when the mistake was an option (help pages are checked against them). */
  accepted?: Options;
  /** Set for an option the command does not take (its hint points at the command's help). */
  unknownOption?: string;
  constructor(message: string) {
    super(message, { exitCode: EXIT.USAGE });
  }
}

/** The option node's parser names in its message, without its quotes and `<value>` placeholder. */
function optionIn(message: string): string {
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
  return (
    quoted
      .replace(/ <value>$/, '')
      .split(', ')
      .pop() ?? quoted
  );
}

/** node's parseArgs messages (long, with unbalanced quotes) as one short line naming the option. */
function usageErrorOf(err: Error & { code?: string }, options: Options): UsageError {
  const option = optionIn(err.message);
  let error: UsageError;
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    error = new UsageError(`unknown option ${option}`);
    error.unknownOption = option;
    error.hint = HELP_HINT;
  } else if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    error = new UsageError(
      /argument missing/.test(err.message) ? `${option} needs a value` : `${option} takes no value`,
    );
  } else if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    error = new UsageError(`unexpected argument ${JSON.stringify(option)}`);
  } else {
    error = new UsageError(err.message);
  }
  error.accepted = options;
  return error;
}

/** parseArgs with strict checking, its errors turned into one-line UsageErrors that name the option. */
export function parse<T extends Options>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw usageErrorOf(err as Error & { code?: string }, options);
  }
}

export interface CommandLine {
  /** The command name, if any. */
  command?: string;
  /** Its arguments, with the global options given before the command moved after it. */
  rest: string[];
  /** --verbose anywhere (no command parser takes it: it only changes how progress prints). */
  verbose: boolean;
  /** --help or -h anywhere before `--`. */
  help: boolean;
  /** --json anywhere before `--`: failures print one JSON object too. */
  json: boolean;
  version: boolean;
}

/**
 * Splits `releng [global options] COMMAND [options]`. Global options before the command go after it,
 * where the command's own parser checks them; `valueOptions` are the global options taking a value.
 */
export function splitCommandLine(argv: string[], valueOptions: Set<string>): CommandLine {
  const end = argv.indexOf('--');
  const own = end < 0 ? argv : argv.slice(0, end);
  const after = end < 0 ? [] : argv.slice(end);
  const leading: string[] = [];
  let i = 0;
  for (; i < own.length && own[i]!.startsWith('-'); i++) {
    const arg = own[i]!;
    leading.push(arg);
    if (valueOptions.has(arg.slice(2)) && i + 1 < own.length) leading.push(own[++i]!);
  }
  const [command, ...tail] = own.slice(i);
  const all = [...leading, ...tail];
  const has = (...flags: string[]) => all.some((arg) => flags.includes(arg));
  return {
    ...(command !== undefined ? { command } : {}),
    rest: [...[...tail, ...leading].filter((arg) => arg !== '--verbose'), ...after],
    verbose: has('--verbose'),
    help: has('--help', '-h'),
    json: has('--json'),
    version: has('--version'),
  };
}
