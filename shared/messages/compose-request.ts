import * as z from 'zod';
import { Channel, ComposeKind } from '../config/schema.ts';
import { ComposeId, ExecutionName, Identifier, Major, Reason, Requesters, Revision } from './fields.ts';

/** Input of the compose state machine: which composes of which release to build, and why. */
export const ComposeRequestV1 = z.strictObject({
  version: z.literal(1),
  major: Major,
  channel: Channel.default('stable'),
  /** Overrides the channel's configured revision (a minor release in preparation). */
  revision: Revision.optional(),
  composes: z
    .array(z.strictObject({ name: Identifier, kind: ComposeKind, resumeComposeId: ComposeId.optional() }))
    .min(1, { message: 'must name at least one compose' }),
  /** SIG composes whose staging copy must be refreshed too. */
  sigs: z.array(Identifier).default([]),
  requestedBy: Requesters,
  reason: Reason,
  /**
   * Seconds the compose waits before it takes the lane lock: koji intake sets the rest of the
   * quiet window, so every build tagged in the window is in the compose. People asking by hand: 0.
   */
  quietSeconds: z.number().int().min(0).max(86400).default(0),
  /** Lane lock owner and idempotency key: the execution that asked. */
  requestId: ExecutionName,
});
export type ComposeRequestV1 = z.infer<typeof ComposeRequestV1>;
