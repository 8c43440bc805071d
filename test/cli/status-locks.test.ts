import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineStateTable } from '../../cli/engine/local-table.ts';
import { createLocalAdapters } from '../../cli/local/index.ts';
import { main } from '../../cli/main.ts';
import { systemClock } from '../../shared/ports.ts';
import { captureOutput } from '../engine/cli-output.ts';

/**
 * `releng status` lists each lock of the engine's state table once: the one intake's lock port
 * took and the one a state machine's lock task wrote, both items of the same table, with no
 * second lock store beside it to list them again.
 */
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'releng-status-locks-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('releng status on the local engine', () => {
  it('lists every lock of the state table exactly once', { timeout: 120_000 }, async () => {
    const { locks } = createLocalAdapters(root, systemClock);
    expect(await locks.acquire('lane:8/Extras', 'intake-test', 600)).toEqual({ acquired: true });
    // As the compose state machine's "Lane lock: take" PutItem writes it.
    const expires = String(Math.floor(Date.now() / 1000) + 600);
    await engineStateTable(join(root, 'engine')).put({
      pk: { S: 'LOCK#lane:8/Rocky' },
      sk: { S: 'LOCK' },
      owner: { S: 'arn:aws:states:local:000000000000:execution:compose:compose-1' },
      expiresAtEpoch: { N: expires },
      expiration: { N: expires },
    });

    const out = captureOutput();
    expect(await main(['status', '--root', root, '--json'], out)).toBe(0);
    const listed = out.last<{ locks: Array<{ name: string; holder: string }> }>().locks;
    expect(listed.map((l) => `${l.name} ${l.holder}`).sort()).toEqual([
      'lane:8/Extras intake-test',
      'lane:8/Rocky arn:aws:states:local:000000000000:execution:compose:compose-1',
    ]);
  });
});
