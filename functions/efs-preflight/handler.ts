import { Logger } from '@aws-lambda-powertools/logger';
import { EFSClient } from '@aws-sdk/client-efs';
import { systemClock } from '../../shared/ports.ts';
import { AWS_CALL_LIMITS } from '../adapters/limits.ts';
import { createEfsPreflightHandler } from './process.ts';

/** EfsPreflightInputV1 → EfsPreflightOutputV1, or EfsPreflightError naming what is not ready. */
export const handler = createEfsPreflightHandler(
  new EFSClient({ ...AWS_CALL_LIMITS }),
  systemClock,
  new Logger({ serviceName: 'efs-preflight' }),
);
