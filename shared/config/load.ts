import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { errorMessage, RelengError } from '../errors.ts';
import { DEFAULT_CONFIG } from './defaults.ts';
import { ConfigSchema, type ReleaseConfig } from './schema.ts';

/** The file that overrides the defaults, looked up in the working directory. */
export const CONFIG_FILE = 'releng.config.json';

export interface ConfigProblem {
  /** Dotted key, `majors.8.channels.stable.revision`. */
  key: string;
  message: string;
  value: unknown;
}

export class ConfigError extends RelengError {
  override readonly name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n` +
        problems.map((p) => `  ${p.key}: ${p.message} (got ${show(p.value)})`).join('\n'),
    );
  }
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Objects merge key by key; arrays and scalars from the override replace the default. */
export function mergeConfig(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) out[key] = mergeConfig(base[key], value);
  return out;
}

function valueAt(data: unknown, path: PropertyKey[]): unknown {
  let cur = data;
  for (const key of path) {
    if (!isPlainObject(cur) && !Array.isArray(cur)) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

export function problemsOf(error: z.ZodError, data: unknown, numbers: string[] = []): ConfigProblem[] {
  return error.issues.flatMap((issue): ConfigProblem[] => {
    const key = issue.path.map(String).join('.');
    // A misspelt key is named itself, not its parent with every value the parent holds.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((name) => ({
        key: key || '(root)',
        message: `${JSON.stringify(name)} is not a known key`,
        value: valueAt(data, [...issue.path, name]),
      }));
    }
    const value = 'input' in issue && issue.input !== undefined ? issue.input : valueAt(data, issue.path);
    if (typeof value === 'number' && issue.path.at(-1) === 'revision') {
      // JSON reads 8.10 as the number 8.1: the file's own text says what was meant.
      const written = numbers.find((text) => Number(text) === value) ?? String(value);
      return [
        {
          key,
          message: `write ${written} as a string ("${written}"): as a number it reads as ${value}`,
          value,
        },
      ];
    }
    return [{ key: key || '(root)', message: issue.message, value }];
  });
}

/** Each channel's revision is a release of its own major: `9.3` under major 8 is a mistake. */
function revisionsOfOtherMajors(data: unknown): ConfigProblem[] {
  const majors = isPlainObject(data) && isPlainObject(data.majors) ? data.majors : {};
  const problems: ConfigProblem[] = [];
  for (const [major, settings] of Object.entries(majors)) {
    const channels = isPlainObject(settings) && isPlainObject(settings.channels) ? settings.channels : {};
    for (const [channel, value] of Object.entries(channels)) {
      const revision = isPlainObject(value) ? value.revision : undefined;
      if (typeof revision === 'string' && /^[0-9]+\./.test(revision) && revision.split('.')[0] !== major) {
        problems.push({
          key: `majors.${major}.channels.${channel}.revision`,
          message: `is not a release of major ${major}`,
          value: revision,
        });
      }
    }
  }
  return problems;
}

/** Validates defaults merged with `overrides`; throws ConfigError listing every problem. */
export function buildConfig(
  overrides: unknown = {},
  source = 'config',
  numbers: string[] = [],
): ReleaseConfig {
  const merged = mergeConfig(DEFAULT_CONFIG, overrides);
  const parsed = ConfigSchema.safeParse(merged, { reportInput: true });
  const problems = [
    ...(parsed.success ? [] : problemsOf(parsed.error, merged, numbers)),
    ...revisionsOfOtherMajors(overrides),
  ];
  if (problems.length || !parsed.success) throw new ConfigError(source, problems);
  return parsed.data;
}

/** `line 3, column 9` of a character offset. */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${before.at(-1)!.length + 1}`;
}

/** The file's numbers as written after `"revision":`, so a problem can quote 8.10, not 8.1. */
function revisionNumbers(text: string): string[] {
  return [...text.matchAll(/"revision"\s*:\s*(-?[0-9][0-9.eE+-]*)/g)].map((m) => m[1]!);
}

export function readConfigFile(path: string): unknown {
  return readConfigText(path).data;
}

function readConfigText(path: string): { data: unknown; text: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [{ key: '(file)', message: errorMessage(err), value: path }]);
  }
  try {
    return { data: JSON.parse(text), text };
  } catch (err) {
    const message = errorMessage(err);
    const offset = /at position ([0-9]+)/.exec(message)?.[1];
    const where = offset === undefined ? '' : ` at ${lineAndColumn(text, Number(offset))}`;
    throw new ConfigError(path, [
      {
        key: '(file)',
        message: `not JSON${where}: ${message.replace(/ in JSON at position [0-9]+.*$/, '')}`,
        value: undefined,
      },
    ]);
  }
}

/**
 * The config every entry point uses: defaults, then `file` (or RELENG_CONFIG, or
 * ./releng.config.json when it exists).
 */
export function loadConfig(file?: string, env: NodeJS.ProcessEnv = process.env): ReleaseConfig {
  const path = file ?? env.RELENG_CONFIG ?? (existsSync(CONFIG_FILE) ? CONFIG_FILE : undefined);
  if (!path) return buildConfig({}, 'defaults');
  const { data, text } = readConfigText(resolve(path));
  return buildConfig(data, path, revisionNumbers(text));
}
