import { Logger } from '@aws-lambda-powertools/logger';
import { systemClock } from '../../shared/ports.ts';
import { createEfsClient } from '../adapters/clients.ts';
import { createEfsPreflightHandler } from './process.ts';

/** EfsPreflightInputV1 → EfsPreflightOutputV1, or EfsPreflightError naming what is not ready. */
export const handler = createEfsPreflightHandler(
  createEfsClient(),
  systemClock,
  new Logger({ serviceName: 'efs-preflight' }),
);
