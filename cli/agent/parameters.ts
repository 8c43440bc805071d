import { RE2JS } from 're2js';
import { errorMessage } from '../../shared/errors.ts';

/**
 * SSM document parameters as the SSM service and agent treat them: the service refuses unknown
 * and missing parameters when the command is sent; the agent then compiles every declared
 * `allowedPattern` with Go's regexp (RE2) and checks every value, the defaults included, before
 * any step runs, and pastes values into the steps' inputs as text.
 */

/** One parameter as a schema 2.2 document declares it. */
export interface DocumentParameter {
  type: 'String' | 'StringList' | 'Boolean' | 'Integer';
  description?: string;
  default?: string | string[] | boolean | number;
  allowedPattern?: string;
  allowedValues?: string[];
}

/** A parameter value after defaults: a string, or a list for StringList. */
export type ParameterValue = string | string[];

/** What SendCommand answers with `InvalidParameters`: the command never reaches the host. */
export class InvalidParametersError extends Error {
  override readonly name = 'InvalidParameters';
}

const PARAMETER_NAME = /^[a-zA-Z0-9]+$/;
const TYPES = new Set(['String', 'StringList', 'Boolean', 'Integer']);

/**
 * The values a command runs with: every given value, then the default of every parameter not
 * given. Throws InvalidParametersError (naming the parameter and value) for an unknown parameter,
 * a required one left out, or a String given as anything but one value.
 */
export function resolveParameters(
  declared: Record<string, DocumentParameter>,
  given: Record<string, string[]>,
): Record<string, ParameterValue> {
  for (const [name, param] of Object.entries(declared)) {
    if (!PARAMETER_NAME.test(name))
      throw new InvalidParametersError(`document parameter name ${JSON.stringify(name)} is not alphanumeric`);
    if (!TYPES.has(param.type)) {
      throw new InvalidParametersError(
        `document parameter ${name} has unsupported type ${JSON.stringify(param.type)}`,
      );
    }
  }
  const values: Record<string, ParameterValue> = {};
  for (const [name, list] of Object.entries(given)) {
    const param = declared[name];
    if (!param) {
      throw new InvalidParametersError(
        `unknown parameter ${JSON.stringify(name)} (value ${JSON.stringify(list)}); the document declares ${Object.keys(declared).join(', ') || 'none'}`,
      );
    }
    if (!Array.isArray(list) || list.some((v) => typeof v !== 'string')) {
      throw new InvalidParametersError(
        `parameter ${name}: value ${JSON.stringify(list)} is not a list of strings`,
      );
    }
    if (param.type !== 'StringList' && list.length !== 1) {
      throw new InvalidParametersError(
        `parameter ${name} (${param.type}) takes one value, got ${JSON.stringify(list)}`,
      );
    }
    values[name] = param.type === 'StringList' ? [...list] : list[0]!;
  }
  for (const [name, param] of Object.entries(declared)) {
    if (name in values) continue;
    if (param.default === undefined) {
      throw new InvalidParametersError(`parameter ${name} is required and has no value`);
    }
    values[name] = Array.isArray(param.default) ? param.default.map(String) : String(param.default);
  }
  return values;
}

/**
 * The agent's checks, before any step runs: each allowedPattern must compile as RE2 (one that
 * does not fails every command of the document, even when its parameter keeps its default), each
 * value must match it (unanchored, like Go's MatchString) and be one of allowedValues. Returns
 * every problem found, each naming the parameter and the value; empty when all is well.
 */
export function validateParameters(
  declared: Record<string, DocumentParameter>,
  values: Record<string, ParameterValue>,
): string[] {
  const problems: string[] = [];
  for (const [name, param] of Object.entries(declared)) {
    const items = [values[name] ?? []].flat();
    if (param.allowedPattern !== undefined && param.allowedPattern !== '') {
      let pattern: RE2JS;
      try {
        pattern = RE2JS.compile(param.allowedPattern);
      } catch (err) {
        problems.push(
          `parameter ${name}: allowedPattern /${param.allowedPattern}/ does not compile as RE2 (Go regexp): ${errorMessage(err)}`,
        );
        continue;
      }
      for (const item of items) {
        if (!pattern.matcher(item).find()) {
          problems.push(
            `parameter ${name}: value ${JSON.stringify(item)} does not match the allowed pattern /${param.allowedPattern}/`,
          );
        }
      }
    }
    if (param.allowedValues) {
      for (const item of items) {
        if (!param.allowedValues.includes(item)) {
          problems.push(
            `parameter ${name}: value ${JSON.stringify(item)} is not one of the allowed values ${JSON.stringify(param.allowedValues)}`,
          );
        }
      }
    }
    if (param.type === 'Boolean') {
      for (const item of items) {
        if (item !== 'true' && item !== 'false')
          problems.push(`parameter ${name}: value ${JSON.stringify(item)} is not a Boolean`);
      }
    }
    if (param.type === 'Integer') {
      for (const item of items) {
        if (!/^-?\d+$/.test(item))
          problems.push(`parameter ${name}: value ${JSON.stringify(item)} is not an Integer`);
      }
    }
  }
  return problems;
}

/**
 * The agent's substitution over a step's inputs, recursively. A string that is exactly
 * `{{ name }}` becomes the value itself (a StringList stays a list, so `"runCommand":
 * "{{ commands }}"` runs each item as a line); elsewhere `{{ name }}` (spaces optional) is
 * replaced by the value as text, a list written as JSON the way the agent marshals it. As in the
 * agent, `$$` in a value becomes `$`, and substituted text is never substituted again.
 */
export function substituteParameters(input: unknown, values: Record<string, ParameterValue>): unknown {
  if (typeof input === 'string') {
    for (const [name, value] of Object.entries(values)) {
      if (new RegExp(`^\\{\\{\\s*${name}\\s*\\}\\}$`).test(input)) return value;
    }
    return replaceInText(input, values);
  }
  if (Array.isArray(input)) return input.map((item) => substituteParameters(item, values));
  if (input && typeof input === 'object') {
    return Object.fromEntries(
      Object.entries(input).map(([key, value]) => [key, substituteParameters(value, values)]),
    );
  }
  return input;
}

function replaceInText(text: string, values: Record<string, ParameterValue>): string {
  const names = Object.keys(values);
  if (names.length === 0) return text;
  const token = new RegExp(`\\{\\{\\s*(${names.join('|')})\\s*\\}\\}`, 'g');
  return text.replace(token, (_, name: string) => {
    const value = values[name]!;
    const asText = typeof value === 'string' ? value : JSON.stringify(value);
    return asText.replaceAll('$$', '$');
  });
}
