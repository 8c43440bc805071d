import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLocalSession } from '../../cli/engine/local-app.ts';
import { PromotionRequestV1 } from '../../shared/messages/promotion.ts';

/**
 * The promotion pipeline as CDK defines it, on the embedded engine, with an approval nobody
 * decides: the approval task's own timeout ends it, the pending approval is recorded TIMED_OUT,
 * and no host operation runs (production is never touched).
 */
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'releng-timeout-'));
  // 0.0005 h = 1.8 s, rounded up to whole seconds by the stack.
  await writeFile(join(root, 'releng.config.json'), JSON.stringify({ approval: { timeoutHours: 0.0005 } }));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('an approval nobody decides', () => {
  it('times out on the engine: recorded TIMED_OUT, nothing published', { timeout: 180_000 }, async () => {
    const events: string[] = [];
    const session = await openLocalSession({
      root,
      waitMs: 50,
      listener: (e) => events.push(`${e.kind} ${e.message}`),
    });
    const digest = 'c'.repeat(64);
    const input = PromotionRequestV1.parse({
      version: 1,
      releases: [
        {
          version: 1,
          type: 'staging-ready',
          major: '8',
          channel: 'stable',
          revision: '8.10',
          digest,
          requestedBy: 'kojira',
          summary: {
            composeIds: ['Rocky-8-updates-20261127.0'],
            advisories: [],
            packageCount: 1,
            repoCount: 1,
            diff: { added: 1, changed: 0, removed: 0 },
          },
        },
      ],
    });
    await session.engine.start('promotion', 'promote-timeout', input);
    const record = await session.engine.wait('promote-timeout');

    const approval = await session.adapters.approvals.get('promote-timeout-0');
    expect(approval).toMatchObject({ digest, status: 'TIMED_OUT' });
    expect(record.status).not.toBe('RUNNING');
    // The approval task ended by its timeout, not by a failure of the engine or the Pass after it.
    expect(JSON.stringify(record)).not.toMatch(/does not point to a value/);
    expect(events.join('\n')).not.toMatch(/Sync to production: send command/);
  });
});
