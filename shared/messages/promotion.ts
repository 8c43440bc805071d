import * as z from 'zod';
import { Channel } from '../config/schema.ts';
import {
  ComposeId,
  ExecutionName,
  Identifier,
  Major,
  Reason,
  Requesters,
  Revision,
  Sha256,
  Timestamp,
  UserName,
} from './fields.ts';

/**
 * Advisory ids a summary names at most. A summary travels in verify-staging's 4 KB result line,
 * the staging-ready message and the approval request, so it samples the list; the manifest
 * (and verify-staging's result file) hold every id.
 */
export const ADVISORY_SAMPLE_MAX = 10;

/** What an approver is shown and what a promotion publishes: a summary of the staged manifest. */
export const ManifestSummary = z.strictObject({
  composeIds: z.array(ComposeId),
  /** The first advisory ids in sort order, at most ADVISORY_SAMPLE_MAX of them. */
  advisories: z
    .array(z.string().regex(/^[A-Z][A-Z0-9]*-[0-9]{4}:?[0-9]{1,6}$/, { message: 'not an advisory id' }))
    .max(ADVISORY_SAMPLE_MAX, {
      message: `lists more than ${ADVISORY_SAMPLE_MAX} advisories; a summary samples them`,
    }),
  /** How many advisories there are in all; absent in older messages, where the list was whole. */
  advisoryCount: z.number().int().min(0).optional(),
  packageCount: z.number().int().min(0),
  repoCount: z.number().int().min(0),
  /** Files added to, changed in and removed from production by this publish. */
  diff: z.strictObject({
    added: z.number().int().min(0),
    changed: z.number().int().min(0),
    removed: z.number().int().min(0),
  }),
});
export type ManifestSummary = z.infer<typeof ManifestSummary>;

/** The summary's view of a full advisory list: a sorted sample and the count. */
export function advisorySample(
  ids: readonly string[],
): Pick<ManifestSummary, 'advisories' | 'advisoryCount'> {
  const sorted = [...new Set(ids)].sort();
  return { advisories: sorted.slice(0, ADVISORY_SAMPLE_MAX), advisoryCount: sorted.length };
}

/** How many advisories a summary stands for, old (whole list) or new (sample and count). */
export function advisoryCountOf(summary: Pick<ManifestSummary, 'advisories' | 'advisoryCount'>): number {
  return summary.advisoryCount ?? summary.advisories.length;
}

const Release = {
  major: Major,
  channel: Channel,
  revision: Revision,
};

/** The staging state machine says a release is staged, verified and ready for approval. */
export const StagingReadyV1 = z.strictObject({
  version: z.literal(1),
  type: z.literal('staging-ready'),
  ...Release,
  digest: Sha256,
  summary: ManifestSummary,
  requestedBy: Requesters,
  sigs: z.array(Identifier).default([]),
  /**
   * Set when this release is a SIG's tree (`pub/sig/<major>/<sig>`), approved and published on
   * its own with its own digest (host operations' `--sig`); absent for the release tree.
   */
  sig: Identifier.optional(),
  /**
   * The compose request (its execution name) the staged release came from, empty when staging
   * was started by hand: promotion-events adds the taggers every later intake batch recorded.
   */
  requestId: z.union([ExecutionName, z.literal('')]).optional(),
});
export type StagingReadyV1 = z.infer<typeof StagingReadyV1>;

/**
 * Input of the promotion state machine: one release, or several published together (8 and 9,
 * the main tree and SIGs) so the file lists are written once, after every sync.
 */
export const PromotionRequestV1 = z.strictObject({
  version: z.literal(1),
  releases: z.array(StagingReadyV1).min(1, { message: 'must name at least one release' }),
});
export type PromotionRequestV1 = z.infer<typeof PromotionRequestV1>;

/**
 * Input of a promotion that promotion-events started for a batch of staging-ready messages: it
 * waits out the window, closes the batch in the state table and promotes what joined it.
 */
export const PromotionBatchRequestV1 = z.strictObject({
  version: z.literal(1),
  batch: z.strictObject({
    id: z.string().regex(/^[0-9A-Za-z-]{1,60}$/, { message: 'not a batch id' }),
    waitSeconds: z.number().int().min(0).max(3600),
  }),
});
export type PromotionBatchRequestV1 = z.infer<typeof PromotionBatchRequestV1>;

/**
 * An engineer's decision on a pending approval. Who decided is not in the body: the promotion
 * handler takes it from the SQS SenderId, so it cannot be forged by writing a name here.
 */
export const ApprovalDecisionV1 = z.discriminatedUnion('type', [
  z.strictObject({
    version: z.literal(1),
    type: z.literal('approve'),
    approvalId: ExecutionName,
    digest: Sha256,
    reason: Reason.optional(),
  }),
  z.strictObject({
    version: z.literal(1),
    type: z.literal('reject'),
    approvalId: ExecutionName,
    digest: Sha256,
    reason: Reason,
  }),
]);
export type ApprovalDecisionV1 = z.infer<typeof ApprovalDecisionV1>;

/** The requester takes back their own request: accepted only when SQS's SenderId is one of them. */
export const WithdrawalV1 = z.strictObject({
  version: z.literal(1),
  type: z.literal('withdraw'),
  approvalId: ExecutionName,
  reason: Reason,
});
export type WithdrawalV1 = z.infer<typeof WithdrawalV1>;

export const PromotionEventV1 = z.union([StagingReadyV1, ApprovalDecisionV1, WithdrawalV1], {
  message: 'type must be staging-ready, approve, reject or withdraw with version 1',
});
export type PromotionEventV1 = z.infer<typeof PromotionEventV1>;

/** The approval state: how a pending approval ended. */
export const APPROVAL_OUTCOMES = ['APPROVED', 'REJECTED', 'TIMED_OUT'] as const;

/** What the approval task returns to the promotion state machine (SendTaskSuccess output). */
export const ApprovalResultV1 = z.strictObject({
  version: z.literal(1),
  outcome: z.enum(APPROVAL_OUTCOMES),
  approvalId: ExecutionName,
  digest: Sha256,
  decidedBy: UserName.or(z.string().regex(/^[A-Za-z0-9:/_+=,.@-]{1,256}$/, { message: 'not a principal' })),
  decidedAt: Timestamp,
  reason: Reason.optional(),
});
export type ApprovalResultV1 = z.infer<typeof ApprovalResultV1>;

/** A pending approval as stored (DynamoDB on AWS, the local store in the engine). */
export const PendingApprovalV1 = z.strictObject({
  version: z.literal(1),
  approvalId: ExecutionName,
  taskToken: z.string().min(1).max(2048),
  digest: Sha256,
  ...Release,
  /** The SIG whose tree this approval publishes; absent for the release tree. */
  sig: Identifier.optional(),
  summary: ManifestSummary,
  requestedBy: Requesters,
  requestedAt: Timestamp,
  expiresAt: Timestamp,
  status: z.enum(['PENDING', ...APPROVAL_OUTCOMES]),
  /** Who decided, when and why, once decided. */
  decision: ApprovalResultV1.optional(),
});
export type PendingApprovalV1 = z.infer<typeof PendingApprovalV1>;
