import { createHash } from 'node:crypto';
import type { ReleaseConfig } from '../config/schema.ts';
import { PromotionBatchRequestV1, type StagingReadyV1 } from '../messages/promotion.ts';
import type { Clock, ExecutionStarter, PromotionBatchStore } from '../ports.ts';

/**
 * Staging-ready messages that arrive within `promotion.coalesceSeconds` of the first one are
 * promoted by ONE promotion: each release approved on its own, every approved one published,
 * the file lists written once after all of them (the SOP's order). The first message opens a
 * batch and starts its promotion, which waits out the window and then closes the batch;
 * later messages join the open batch, or open the next one once it is closed.
 */

/** The promotion's Wait state for the window; the local engine waits it out (capped). */
export const COALESCE_WAIT_STATE = 'Wait out the coalescing window';

/** The promotion state whose output holds a batch's releases (`releng approvals` on AWS reads it). */
export const BATCH_READ_STATE = 'Read the batch releases';

export interface BatchDeps {
  config: ReleaseConfig;
  batches: PromotionBatchStore;
  starter: ExecutionStarter;
  clock: Clock;
}

export interface JoinedBatch {
  batchId: string;
  executionName: string;
  /** False when the release had joined before (a redelivered message): nothing was added. */
  added: boolean;
  /** Whether this call started the batch's promotion (false: it was running already). */
  started: boolean;
}

/** One release's identity in a batch: the tree (release or SIG) and its staged digest. */
export function releaseKey(ready: Pick<StagingReadyV1, 'major' | 'channel' | 'sig' | 'digest'>): string {
  return `${ready.major}-${ready.channel}-${ready.sig ? `sig-${ready.sig}` : 'release'}-${ready.digest}`;
}

/** `20261203T121520Z-1a2b3c4d`: when the batch opened, and which release opened it. */
export function batchIdFor(at: Date, key: string): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  return `${stamp}-${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;
}

/** The promotion execution of a batch: every message of the batch names it, so it starts once. */
export function batchExecutionName(batchId: string): string {
  return `promote-batch-${batchId}`;
}

/** Contended writes retry this often before the message fails (and SQS delivers it again). */
const ATTEMPTS = 8;

/** The open batch, or a new one this call opened; undefined when another handler won the race. */
async function openBatch(deps: BatchDeps, key: string): Promise<string | undefined> {
  const pointed = await deps.batches.openBatchId();
  if (pointed) {
    const batch = await deps.batches.get(pointed);
    if (batch && !batch.closed) return pointed;
  }
  const now = deps.clock.now();
  const batchId = batchIdFor(now, key);
  return (await deps.batches.open(batchId, pointed, now)) ? batchId : undefined;
}

async function startBatch(deps: BatchDeps, batchId: string) {
  const executionName = batchExecutionName(batchId);
  // The same input from every message of the batch: Step Functions starts it once.
  const input = PromotionBatchRequestV1.parse({
    version: 1,
    batch: { id: batchId, waitSeconds: deps.config.promotion.coalesceSeconds },
  });
  const { started } = await deps.starter.start('promotion', executionName, input);
  return { executionName, started };
}

/**
 * Puts one staged release into a promotion batch exactly once and makes sure the batch's
 * promotion runs. A release claimed for a batch that closed without it (a handler died between
 * claim and add) is claimed again for the open batch.
 */
export async function joinPromotionBatch(deps: BatchDeps, ready: StagingReadyV1): Promise<JoinedBatch> {
  const key = releaseKey(ready);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const candidate = await openBatch(deps, key);
    if (!candidate) continue;
    const batchId = await deps.batches.claim(key, candidate);
    if (!batchId) continue;
    const batch = await deps.batches.get(batchId);
    if (batch?.releases[key]) return { batchId, added: false, ...(await startBatch(deps, batchId)) };
    if (!batch || batch.closed) {
      await deps.batches.unclaim(key, batchId);
      continue;
    }
    if (!(await deps.batches.addRelease(batchId, key, ready))) continue;
    return { batchId, added: true, ...(await startBatch(deps, batchId)) };
  }
  throw new Error(
    `staging-ready ${key}: no promotion batch could be joined after ${ATTEMPTS} attempts (contention); SQS delivers it again`,
  );
}
