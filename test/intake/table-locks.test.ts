import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engineStateTable, type LocalTable } from '../../cli/engine/local-table.ts';
import { createLocalAdapters } from '../../cli/local/index.ts';
import { coalesceLane } from '../../shared/intake/coalesce.ts';
import { routeKojiMessage } from '../../shared/intake/parse.ts';
import { bashBuild, manualClock, testConfig } from '../functions/support.ts';

const COMPOSE_EXECUTION =
  'arn:aws:states:local:000000000000:execution:compose:compose-8-Rocky-20261127T100000Z';

let dir: string;
let table: LocalTable;
const clock = manualClock();
// The local ports: functions/' lock adapter over the engine's state table under the root.
const lockStore = () => createLocalAdapters(dir, clock).locks;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'releng-table-locks-'));
  // The engine's durable local DynamoDB table, the one its state machines take locks in.
  table = engineStateTable(join(dir, 'engine'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('local lock port over the engine table', () => {
  it('takes, refuses, expires and releases locks with the state machines item shape', async () => {
    const locks = lockStore();
    expect(await locks.acquire('publish', 'a', 60)).toEqual({ acquired: true });
    expect(await locks.acquire('publish', 'b', 60)).toMatchObject({
      acquired: false,
      holder: { owner: 'a' },
    });
    await locks.release('publish', 'b');
    expect((await locks.holder('publish'))?.owner).toBe('a');
    clock.advance(61);
    expect(await locks.acquire('publish', 'b', 60)).toEqual({ acquired: true });
    expect(await table.get({ pk: { S: 'LOCK#publish' }, sk: { S: 'LOCK' } })).toMatchObject({
      owner: { S: 'b' },
      expiresAtEpoch: { N: expect.any(String) },
      expiration: { N: expect.any(String) },
    });
    await locks.release('publish', 'b');
    expect(await locks.list()).toEqual([]);
  });

  it('lets intake see the lane lock a running compose took, and queue its one follow-up', async () => {
    const now = Math.floor(clock.now().getTime() / 1000);
    // As the compose state machine's "Lane lock: take" PutItem writes it.
    await table.put({
      pk: { S: 'LOCK#lane:8/Rocky' },
      sk: { S: 'LOCK' },
      owner: { S: COMPOSE_EXECUTION },
      expiresAtEpoch: { N: String(now + 3600) },
      expiration: { N: String(now + 3600) },
    });
    const stores = createLocalAdapters(dir, clock);
    const started: string[] = [];
    const config = testConfig();
    const change = routeKojiMessage(config, bashBuild(7));
    if (change.kind !== 'routed') throw new Error('expected a routed event');
    const outcome = await coalesceLane(
      {
        config,
        lanes: stores.lanes,
        locks: stores.locks,
        starter: {
          start: async (_machine, name) => {
            started.push(name);
            return { executionId: name, started: true };
          },
        },
        clock,
      },
      change.lane,
      change.laneId,
      [change],
    );
    expect(outcome).toMatchObject({
      action: 'follow-up',
      reason: 'runs after compose-8-Rocky-20261127T100000Z, which is composing',
    });
    expect(started).toEqual([outcome.executionName]);
  });
});
