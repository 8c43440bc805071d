import * as z from 'zod';
import { Channel } from '../config/schema.ts';
import { ExecutionName, Identifier, Major, Requesters, Revision } from './fields.ts';

/**
 * Input of the staging state machine: which built composes and SIGs of which release to sync
 * into staging, prep, sign and verify. The compose state machine starts it with what it built;
 * `releng sync-staging` starts it by hand.
 */
export const StagingRequestV1 = z.strictObject({
  version: z.literal(1),
  major: Major,
  channel: Channel.default('stable'),
  /** Overrides the channel's configured revision; `''` (what compose passes on) means none. */
  revision: z.union([Revision, z.literal('')]).optional(),
  sigs: z.array(Identifier).default([]),
  /** Composes to sync, in any order (staging syncs them in the major's configured order). */
  composes: z.array(Identifier).default([]),
  requestedBy: Requesters,
  /** The execution that asked: a compose execution, or the command's own execution name. */
  requestId: ExecutionName.optional(),
});
export type StagingRequestV1 = z.infer<typeof StagingRequestV1>;
