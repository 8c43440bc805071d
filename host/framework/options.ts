import { parseArgs } from 'node:util';
import { errnoCode, errorMessage, HELP_HINT } from '../../shared/errors.ts';
import {
  type COMMON_PARAMS,
  checkParam,
  type HOST_OPERATIONS,
  type HostOperationName,
  ParamError,
  paramsOf,
} from '../../shared/operations.ts';

/** The catalogue's parameters of one operation, with literal names and kinds. */
type ParamOf<K extends HostOperationName> =
  | (typeof COMMON_PARAMS)[number]
  | (typeof HOST_OPERATIONS)[K]['params'][number];

/** A flag is boolean; a value is its enum's values or a string, and undefined unless required. */
type ValueOf<P> = P extends { kind: { type: 'flag' } }
  ? boolean
  :
      | (P extends { kind: { type: 'enum'; values: readonly (infer V)[] } } ? V : string)
      | (P extends { required: true } ? never : undefined);

/**
 * An operation's options as the catalogue declares them: `OperationOptions<'sync-to-prod'>` has
 * `'approved-digest': string`. Over several operations it is the union of each one's options.
 */
export type OperationOptions<K extends HostOperationName = HostOperationName> = K extends HostOperationName
  ? { readonly [P in ParamOf<K> as P['name']]: ValueOf<P> }
  : never;

/** parseArgs' own messages are long; this is the option (or argument) they name. */
function quotedIn(message: string): string {
  return (/'([^']*)'/.exec(message)?.[1] ?? '').replace(/ <value>$/, '');
}

/** node's parseArgs error as the one-line ParamError releng-host has always printed. */
function paramErrorOf(operation: HostOperationName, err: unknown): unknown {
  const code = errnoCode(err);
  const option = quotedIn(errorMessage(err));
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
    return new ParamError(`${operation}: unknown option ${option}`, { hint: HELP_HINT });
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')
    return new ParamError(
      /does not take an argument/.test(errorMessage(err))
        ? `${operation}: ${option} takes no value`
        : `${operation}: ${option} needs a value`,
    );
  return err;
}

/**
 * Parses `--flag value` and `--flag=value` against the operation catalogue with node's strict
 * parseArgs: unknown options, missing values, options given twice or missing while required,
 * and values that fail their pattern are ParamErrors naming the option and value.
 */
export function parseOperationArgs<K extends HostOperationName>(
  operation: K,
  argv: string[],
): OperationOptions<K> {
  const params = paramsOf(operation);
  const options = Object.fromEntries(
    params.map((param) => [param.name, { type: param.kind.type === 'flag' ? 'boolean' : 'string' } as const]),
  );
  let tokens: NonNullable<ReturnType<typeof parseArgs>['tokens']>;
  try {
    ({ tokens } = parseArgs({ args: argv, options, strict: true, allowPositionals: true, tokens: true }));
  } catch (err) {
    throw paramErrorOf(operation, err);
  }
  const byName = new Map(params.map((param) => [param.name, param]));
  const given = new Map<string, string | undefined>();
  for (const token of tokens) {
    if (token.kind === 'option-terminator')
      throw new ParamError(`${operation}: unknown option --`, { hint: HELP_HINT });
    if (token.kind === 'positional')
      throw new ParamError(`${operation}: unexpected argument ${JSON.stringify(token.value)}`, {
        hint: HELP_HINT,
      });
    if (given.has(token.name)) throw new ParamError(`${operation}: --${token.name} given twice`);
    if (token.value !== undefined) checkParam(operation, byName.get(token.name)!, token.value);
    given.set(token.name, token.value);
  }
  const values: Record<string, string | boolean | undefined> = {};
  for (const param of params) {
    if (param.required && !given.has(param.name))
      throw new ParamError(`${operation}: --${param.name} is required (${param.description})`);
    values[param.name] = param.kind.type === 'flag' ? given.has(param.name) : given.get(param.name);
  }
  // Every value was checked against the catalogue entry its type is derived from.
  return values as OperationOptions<K>;
}
