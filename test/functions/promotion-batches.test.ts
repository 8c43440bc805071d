import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalDocumentClient } from '../../cli/engine/local-document-client.ts';
import { LocalTable } from '../../cli/engine/local-table.ts';
import { DynamoPromotionBatchStore } from '../../functions/adapters/promotion-batches.ts';
import { SfnExecutionStarter, SfnTaskCallbacks } from '../../functions/adapters/sfn.ts';
import { createPromotionEventsHandler } from '../../functions/promotion-events/process.ts';
import { releaseKey } from '../../shared/approvals/batch.ts';
import { PromotionBatchRequestV1 } from '../../shared/messages/promotion.ts';
import { DIGEST, OTHER_DIGEST, stagingReady } from './approvals.ts';
import { fakeStepFunctions } from './sfn-fake.ts';
import {
  captureLog,
  manualClock,
  PROMOTION_ARN,
  sqsEvent,
  sqsRecord,
  tempStores,
  testConfig,
} from './support.ts';

/**
 * staging-ready messages through the promotion-events handler with promotion batches in the
 * state table (the DynamoDB adapter over the local table): a window's releases join one batch,
 * a redelivered message never adds its release twice, a closed batch makes the next one.
 */
const STAGING = 'AROASTAGINGROLE:session';
const SIG_DIGEST = 'c'.repeat(64);

let dir: string;
let batches: DynamoPromotionBatchStore;
let stores: Awaited<ReturnType<typeof tempStores>>;
let sfn: ReturnType<typeof fakeStepFunctions>;
let clock: ReturnType<typeof manualClock>;
let log: ReturnType<typeof captureLog>;

const handler = () =>
  createPromotionEventsHandler(
    {
      config: testConfig({ promotion: { coalesceSeconds: 120 } }),
      approvals: stores.approvals,
      callbacks: new SfnTaskCallbacks(sfn.client),
      starter: new SfnExecutionStarter(sfn.client, { promotion: PROMOTION_ARN }),
      clock,
      pipelineSenders: ['AROASTAGINGROLE'],
      batches,
    },
    log,
  );

async function deliver(...bodies: object[]) {
  const records = bodies.map((b, i) => sqsRecord(`m-${i}`, JSON.stringify(b), STAGING));
  return (await handler()(sqsEvent(records))).batchItemFailures;
}

const release = stagingReady();
const sig = stagingReady({ sig: 'kernel', digest: SIG_DIGEST });

/** The batch each promotion started names, from its input (refused starts of a taken name are not). */
const startedBatches = () =>
  [...sfn.executions.values()].map((e) => PromotionBatchRequestV1.parse(e.input).batch);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'releng-batches-'));
  clock = manualClock();
  const table = new LocalTable(join(dir, 'state.json'), ['pk', 'sk']);
  batches = new DynamoPromotionBatchStore(new LocalDocumentClient(table), 'local', clock);
  stores = await tempStores(clock);
  sfn = fakeStepFunctions();
  log = captureLog();
});
afterEach(async () => {
  await stores.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('promotion batches', () => {
  it('puts the releases of one window into one batch and starts one promotion that waits out the window', async () => {
    expect(await deliver(release)).toEqual([]);
    clock.advance(30);
    expect(await deliver(sig)).toEqual([]);
    const [batch, ...others] = startedBatches();
    expect(others).toEqual([]);
    expect(batch!.waitSeconds).toBe(120);
    expect([...sfn.executions.keys()]).toEqual([`promote-batch-${batch!.id}`]);
    // Each message asked for it; Step Functions started it once.
    expect(sfn.starts().map((s) => s.name)).toEqual([
      `promote-batch-${batch!.id}`,
      `promote-batch-${batch!.id}`,
    ]);
    const stored = await batches.get(batch!.id);
    expect(stored?.closed).toBe(false);
    expect(Object.values(stored!.releases).map((r) => [r.sig ?? 'release', r.digest])).toEqual([
      ['release', DIGEST],
      ['kernel', SIG_DIGEST],
    ]);
  });

  it('never adds a redelivered release twice, in its open batch or after it closed', async () => {
    expect(await deliver(release, release)).toEqual([]);
    expect(await deliver(release)).toEqual([]);
    const [batch] = startedBatches();
    expect(Object.keys((await batches.get(batch!.id))!.releases)).toEqual([releaseKey(release)]);
    await batches.close(batch!.id);
    clock.advance(600);
    expect(await deliver(release)).toEqual([]);
    // No second promotion of it: the redelivery found its batch, closed, and left it there.
    expect(startedBatches().map((b) => b.id)).toEqual([batch!.id]);
    expect(log.lines.filter((l) => l.message === 'release already in a batch')).toHaveLength(3);
  });

  it('opens the next batch, and starts its promotion, once the open one is closed', async () => {
    expect(await deliver(release)).toEqual([]);
    const [first] = startedBatches();
    await batches.close(first!.id);
    clock.advance(200);
    expect(await deliver(sig)).toEqual([]);
    const ids = startedBatches().map((b) => b.id);
    expect(ids).toHaveLength(2);
    expect(Object.keys((await batches.get(ids[1]!))!.releases)).toEqual([releaseKey(sig)]);
    expect(Object.keys((await batches.get(ids[0]!))!.releases)).toEqual([releaseKey(release)]);
  });

  it('moves a release claimed for a batch that closed without it (a handler died) to the next batch', async () => {
    expect(await deliver(release)).toEqual([]);
    const [first] = startedBatches();
    // What a handler that died between its claim and its add leaves behind.
    expect(await batches.claim(releaseKey(sig), first!.id)).toBe(first!.id);
    await batches.close(first!.id);
    clock.advance(200);
    expect(await deliver(sig)).toEqual([]);
    const second = startedBatches()[1]!;
    expect(Object.keys((await batches.get(second.id))!.releases)).toEqual([releaseKey(sig)]);
    expect(Object.keys((await batches.get(first!.id))!.releases)).toEqual([releaseKey(release)]);
  });

  it('agrees on one batch when several handlers take releases at the same moment', async () => {
    const releases = ['8', '9'].flatMap((major) =>
      [DIGEST, OTHER_DIGEST].map((digest) => stagingReady({ major, digest, revision: `${major}.1` })),
    );
    const results = await Promise.all(releases.map((r) => deliver(r)));
    expect(results.flat()).toEqual([]);
    const ids = [...new Set(startedBatches().map((b) => b.id))];
    expect(ids).toHaveLength(1);
    expect(Object.keys((await batches.get(ids[0]!))!.releases).sort()).toEqual(
      releases.map(releaseKey).sort(),
    );
  });

  it('refuses a SIG the major does not configure, before any batch', async () => {
    expect(await deliver(stagingReady({ sig: 'bogus' }))).toHaveLength(1);
    expect(log.lines.find((l) => l.message === 'promotion event failed')?.reason).toMatch(
      /SIG bogus is not configured for major 8/,
    );
    expect(await batches.openBatchId()).toBeUndefined();
  });
});
