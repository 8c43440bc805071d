import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { z } from 'zod';
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

export class ConfigError extends Error {
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

export function problemsOf(error: z.ZodError, data: unknown): ConfigProblem[] {
  return error.issues.map((issue) => ({
    key: issue.path.map(String).join('.') || '(root)',
    message: issue.message,
    value: 'input' in issue && issue.input !== undefined ? issue.input : valueAt(data, issue.path),
  }));
}

/** Validates defaults merged with `overrides`; throws ConfigError listing every problem. */
export function buildConfig(overrides: unknown = {}, source = 'config'): ReleaseConfig {
  const merged = mergeConfig(DEFAULT_CONFIG, overrides);
  const parsed = ConfigSchema.safeParse(merged, { reportInput: true });
  if (!parsed.success) throw new ConfigError(source, problemsOf(parsed.error, merged));
  return parsed.data;
}

export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [{ key: '(file)', message: (err as Error).message, value: path }]);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(path, [
      { key: '(file)', message: `not JSON: ${(err as Error).message}`, value: undefined },
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
  return buildConfig(readConfigFile(resolve(path)), path);
}
