/**
 * The one DynamoDB state table (LAMBDA_ENV.stateTable): lane locks, the publish lock, pending
 * approvals, lane state and Powertools idempotency records share it, told apart by the key.
 * cdk/ reads the attribute names from here; the state machines' direct DynamoDB lock tasks and
 * the Lambdas' adapters write the same item shapes, so either sees the other's locks.
 */
export const STATE_TABLE = {
  /** String partition key. */
  partitionKey: 'pk',
  /** String sort key. */
  sortKey: 'sk',
  /** Number, epoch seconds: DynamoDB TTL deletes expired items (Powertools idempotency uses it too). */
  ttlAttribute: 'expiration',
} as const;

export interface StateKey {
  pk: string;
  sk: string;
}

export const stateKey = {
  /** `LOCK#lane:8/Rocky`, `LOCK#publish` (names from shared/lanes.ts). */
  lock: (name: string): StateKey => ({ pk: `LOCK#${name}`, sk: 'LOCK' }),
  approval: (approvalId: string): StateKey => ({ pk: `APPROVAL#${approvalId}`, sk: 'APPROVAL' }),
  lane: (laneId: string): StateKey => ({ pk: `LANE#${laneId}`, sk: 'STATE' }),
  /** The requesters of one compose execution, a string set every intake batch adds to. */
  requesters: (executionName: string): StateKey => ({ pk: `REQUESTERS#${executionName}`, sk: 'SET' }),
  /** A host command a pipeline task waits for (shared/host-commands). */
  hostCommand: (commandId: string): StateKey => ({ pk: `HOSTCMD#${commandId}`, sk: 'COMMAND' }),
  /** Marks that a task token sent its command, so a retried invoke cannot send it twice. */
  hostCommandToken: (tokenDigest: string): StateKey => ({ pk: `HOSTCMD-TOKEN#${tokenDigest}`, sk: 'TOKEN' }),
  /** Which promotion batch staging-ready messages join now (shared/approvals/batch.ts). */
  promotionBatchPointer: (): StateKey => ({ pk: 'PROMOTION-BATCH#OPEN', sk: 'POINTER' }),
  /** One promotion batch: `closed`, `openedAt`, `releases` (release key -> StagingReadyV1 JSON). */
  promotionBatch: (batchId: string): StateKey => ({ pk: `PROMOTION-BATCH#${batchId}`, sk: 'BATCH' }),
  /** The batch a staged release (its release key) joined: a release joins one batch, once. */
  promotionClaim: (releaseKey: string): StateKey => ({ pk: `PROMOTION-RELEASE#${releaseKey}`, sk: 'CLAIM' }),
  /** One audit record (`releng unlock`): its time and subject make it unique and sort it by time. */
  audit: (at: string, subject: string): StateKey => ({ pk: `AUDIT#${at}#${subject}`, sk: 'AUDIT' }),
  /** The koji event the poller of one hub (by URL) has enqueued everything up to. */
  kojiCheckpoint: (hub: string): StateKey => ({ pk: `KOJI-POLL#${hub}`, sk: 'CHECKPOINT' }),
  /** Marks one tag change (shared/koji-poll key) of one hub as sent to the koji queue. */
  kojiSent: (hub: string, changeKey: string): StateKey => ({
    pk: `KOJI-SENT#${hub}#${changeKey}`,
    sk: 'SENT',
  }),
};

/** How long a sent marker stays: well past the koji queue's 4-day retention. */
export const KOJI_SENT_RETENTION_SECONDS = 14 * 24 * 3600;

/** The prefix every audit record's partition key starts with. */
export const AUDIT_PREFIX = 'AUDIT#';

/** How long a finished host command's record stays for `releng status` and audit. */
export const HOST_COMMAND_RETENTION_SECONDS = 14 * 24 * 3600;

/** Partition key value under which Powertools idempotency stores its records (sort key = hash). */
export const IDEMPOTENCY_PARTITION = 'IDEMPOTENCY';

/**
 * A lock item. Taken with a conditional put:
 * `attribute_not_exists(pk) OR expiresAtEpoch < :now OR owner = :owner`; released with a
 * conditional delete `owner = :owner`. `expiration` equals `expiresAtEpoch` so TTL cleans up.
 */
export interface LockItem extends StateKey {
  owner: string;
  /** Epoch seconds: the state machines compute it from EfsPreflightOutputV1.nowEpochSeconds. */
  expiresAtEpoch: number;
  expiration: number;
}

/** How long decided approvals and lane state stay in the table for audit after they end. */
export const AUDIT_RETENTION_SECONDS = 90 * 24 * 3600;

/**
 * The ttl each pipeline takes its locks with (cdk/state-machines: LANE_LOCK_TTL,
 * STAGING_LOCK_TTL, PUBLISH_LOCK_TTL; test/intake/lock-ttls.test.ts keeps them equal), so a
 * lock's age is its expiry minus this: lock items carry no time of taking.
 */
export const LOCK_TTL_SECONDS = {
  lane: 50 * 3600,
  staging: 36 * 3600,
  publish: 36 * 3600,
} as const;

/** The ttl of the lock `name` (`lane:8/Rocky`, `staging:8`, `publish`), undefined for others. */
export function lockTtlSeconds(name: string): number | undefined {
  const family = name.split(':')[0] as keyof typeof LOCK_TTL_SECONDS;
  return Object.hasOwn(LOCK_TTL_SECONDS, family) ? LOCK_TTL_SECONDS[family] : undefined;
}
