import { buildConfig } from '../../shared/config/load.ts';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { errorMessage } from '../../shared/errors.ts';
import { LAMBDA_ENV } from '../../shared/runtime-env.ts';

/** The release config of a Lambda: bundled defaults merged with RELENG_CONFIG_OVERRIDES. */
export function lambdaConfig(env: NodeJS.ProcessEnv = process.env): ReleaseConfig {
  const raw = env[LAMBDA_ENV.configOverrides];
  let overrides: unknown = {};
  if (raw) {
    try {
      overrides = JSON.parse(raw);
    } catch (err) {
      throw new Error(`${LAMBDA_ENV.configOverrides} is not JSON: ${errorMessage(err)}`);
    }
  }
  return buildConfig(overrides, LAMBDA_ENV.configOverrides);
}

/** The structured log calls handlers make: Powertools' Logger on AWS, anything alike locally. */
export type LogFields = Record<string, unknown>;
export interface LogPort {
  info(message: string, fields: LogFields): void;
  warn(message: string, fields: LogFields): void;
  error(message: string, fields: LogFields): void;
}
