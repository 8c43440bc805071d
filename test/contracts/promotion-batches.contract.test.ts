import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDocumentClient } from '../../cli/engine/local-document-client.ts';
import { LocalTable } from '../../cli/engine/local-table.ts';
import { createDocumentClient } from '../../functions/adapters/dynamodb.ts';
import { DynamoPromotionBatchStore } from '../../functions/adapters/promotion-batches.ts';
import type { PromotionBatchStore } from '../../shared/ports.ts';
import { STATE_TABLE } from '../../shared/state-table.ts';
import { stagingReady } from '../functions/approvals.ts';
import { manualClock } from '../functions/support.ts';
import { createMotoStateTable, describeMoto, useMoto } from '../support/moto.ts';

/**
 * The promotion batch store's contract, one body against DynamoDB as moto speaks it and against
 * the engine's local table through the LocalDocumentClient: the conditional writes that make
 * one open batch, one claim per release and a close that shuts the batch.
 */
const moto = useMoto();
const clock = manualClock();
const MAIN = stagingReady();
const SIG = stagingReady({ sig: 'kernel', digest: 'c'.repeat(64) });

async function viaMoto(): Promise<{ store: PromotionBatchStore; cleanup(): void }> {
  const { client, table } = await createMotoStateTable(moto, 'releng-batches');
  return {
    store: new DynamoPromotionBatchStore(createDocumentClient(client), table, clock),
    cleanup: () => {},
  };
}

async function viaLocalTable(): Promise<{ store: PromotionBatchStore; cleanup(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'releng-contract-batches-'));
  const table = new LocalTable(join(dir, 'StateTable.json'), [STATE_TABLE.partitionKey, STATE_TABLE.sortKey]);
  return {
    store: new DynamoPromotionBatchStore(new LocalDocumentClient(table), 'local', clock),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function batchContract(make: () => Promise<{ store: PromotionBatchStore; cleanup(): void }>) {
  let store: PromotionBatchStore;
  let cleanup: () => void;
  beforeAll(async () => {
    ({ store, cleanup } = await make());
  });
  afterAll(() => cleanup?.());

  it('opens one batch at a time: the pointer moves only from the batch it names', async () => {
    expect(await store.openBatchId()).toBeUndefined();
    expect(await store.open('b1', undefined, clock.now())).toBe(true);
    expect(await store.open('b2', undefined, clock.now())).toBe(false);
    expect(await store.open('b2', 'b0', clock.now())).toBe(false);
    expect(await store.openBatchId()).toBe('b1');
    expect(await store.get('b1')).toEqual({
      batchId: 'b1',
      closed: false,
      openedAt: clock.now().toISOString(),
      releases: {},
    });
  });

  it('adds a release once, under its key, while the batch is open', async () => {
    expect(await store.addRelease('b1', 'main', MAIN)).toBe(true);
    expect(await store.addRelease('b1', 'main', MAIN)).toBe(false);
    expect(await store.addRelease('b1', 'sig', SIG)).toBe(true);
    expect(await store.addRelease('missing', 'main', MAIN)).toBe(false);
    expect((await store.get('b1'))?.releases).toEqual({ main: MAIN, sig: SIG });
  });

  it('claims a release key for the first batch that asks, until unclaimed by that batch', async () => {
    expect(await store.claim('main', 'b1')).toBe('b1');
    expect(await store.claim('main', 'b2')).toBe('b1');
    await store.unclaim('main', 'b2');
    expect(await store.claim('main', 'b3')).toBe('b1');
    await store.unclaim('main', 'b1');
    expect(await store.claim('main', 'b3')).toBe('b3');
  });

  it('closes a batch (twice is harmless) so nothing joins it, and the pointer can move on', async () => {
    const closed = await store.close('b1');
    expect(closed).toMatchObject({ batchId: 'b1', closed: true, releases: { main: MAIN, sig: SIG } });
    expect(await store.close('b1')).toMatchObject({ closed: true });
    expect(await store.close('never-opened')).toBeUndefined();
    expect(await store.get('never-opened')).toBeUndefined();
    expect(await store.addRelease('b1', 'late', MAIN)).toBe(false);
    expect(await store.open('b2', 'b1', clock.now())).toBe(true);
    expect(await store.openBatchId()).toBe('b2');
  });
}

describeMoto(moto, 'promotion batches against DynamoDB (moto over HTTP)', () => batchContract(viaMoto));
describe('promotion batches on the engine state table (local twin)', () => batchContract(viaLocalTable));
