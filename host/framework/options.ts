import { HELP_HINT } from '../../shared/errors.ts';
import { checkParam, type HostOperationName, ParamError, paramsOf } from '../../shared/operations.ts';

export type ParsedOptions = Record<string, string | boolean | undefined>;

/**
 * Parses `--flag value` pairs against the operation catalogue: unknown flags, missing values,
 * missing required flags and values that fail their pattern are ParamErrors naming them.
 */
export function parseOperationArgs(operation: HostOperationName, argv: string[]): ParsedOptions {
  const params = new Map(paramsOf(operation).map((param) => [param.name, param]));
  const values: ParsedOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--'))
      throw new ParamError(
        arg.startsWith('-')
          ? `${operation}: unknown option ${arg}`
          : `${operation}: unexpected argument ${JSON.stringify(arg)}`,
        { hint: HELP_HINT },
      );
    const [flagName, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const param = params.get(flagName);
    if (!param) throw new ParamError(`${operation}: unknown option --${flagName}`, { hint: HELP_HINT });
    if (flagName in values) throw new ParamError(`${operation}: --${flagName} given twice`);
    if (param.kind.type === 'flag') {
      if (inline !== undefined) throw new ParamError(`${operation}: --${flagName} takes no value`);
      values[flagName] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new ParamError(`${operation}: --${flagName} needs a value`);
    checkParam(operation, param, value);
    values[flagName] = value;
  }
  for (const param of params.values()) {
    if (param.required && values[param.name] === undefined) {
      throw new ParamError(`${operation}: --${param.name} is required (${param.description})`);
    }
  }
  return values;
}
