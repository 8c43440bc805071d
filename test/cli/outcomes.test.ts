import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLocalSession } from '../../cli/engine/local-app.ts';
import { main } from '../../cli/main.ts';
import { PromotionRequestV1 } from '../../shared/messages/promotion.ts';
import { captureOutput } from '../engine/cli-output.ts';

/**
 * A promotion nothing approved ends in the state machine's `Production untouched` Succeed state.
 * status and history must say REJECTED or TIMED_OUT, with who decided and why, never SUCCEEDED.
 */
const roots: string[] = [];
afterAll(() => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));

function request() {
  return PromotionRequestV1.parse({
    version: 1,
    releases: [
      {
        version: 1,
        type: 'staging-ready',
        major: '8',
        channel: 'stable',
        revision: '8.10',
        digest: 'c'.repeat(64),
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
}

async function releng(...argv: string[]) {
  const out = captureOutput();
  const code = await main(argv, out);
  return { code, out, text: [...out.lines, ...out.errors].join('\n') };
}

/** Runs one promotion on a fresh root; `decide` answers its approval from "another terminal". */
async function promotion(config: unknown, decide?: (root: string, approvalId: string) => Promise<void>) {
  const root = await mkdtemp(join(tmpdir(), 'releng-outcome-'));
  roots.push(root);
  await writeFile(join(root, 'releng.config.json'), JSON.stringify(config));
  const decisions: Promise<void>[] = [];
  const session = await openLocalSession({
    root,
    waitMs: 50,
    listener: (e) => {
      if (e.kind === 'approval' && decide) decisions.push(decide(root, `${e.execution}-0`));
    },
  });
  await session.engine.start('promotion', 'promote-outcome', request());
  await session.engine.wait('promote-outcome');
  await Promise.all(decisions);
  return root;
}

describe('a promotion that published nothing', () => {
  let rejected: string;
  let timedOut: string;
  beforeAll(async () => {
    [rejected, timedOut] = await Promise.all([
      promotion({}, async (root, id) => {
        const decision = await releng('reject', id, '--root', root, '--reason', 'kernel regression');
        expect(decision.code, decision.text).toBe(0);
      }),
      // 0.0005 h = 1.8 s, rounded up to whole seconds by the stack.
      promotion({ approval: { timeoutHours: 0.0005 } }),
    ]);
  }, 240_000);

  it('shows as REJECTED in status and history, with who rejected it and why', async () => {
    for (const argv of [['status'], ['history', 'promote-outcome']]) {
      const { code, text } = await releng(...argv, '--root', rejected);
      expect(code).toBe(0);
      expect(text).toMatch(/^REJECTED +promotion +promote-outcome /m);
      expect(text).toMatch(/REJECTED promote-outcome-0 by \S+: kernel regression/);
      expect(text).not.toMatch(/SUCCEEDED/);
    }
    const json = await releng('status', '--root', rejected, '--json');
    expect(json.out.last()).toMatchObject({
      executions: [{ name: 'promote-outcome', status: 'SUCCEEDED', outcome: 'REJECTED' }],
    });
  });

  it('shows as TIMED_OUT when nobody decided, naming the deadline', async () => {
    const { text } = await releng('status', '--root', timedOut);
    expect(text).toMatch(/^TIMED_OUT +promotion +promote-outcome /m);
    expect(text).toMatch(/TIMED_OUT promote-outcome-0 by releng: no decision within 2 seconds/);
    expect(text).not.toMatch(/SUCCEEDED/);
  });
});

describe('read-only commands on a missing root', () => {
  it('fail with one clear line and never create it', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'releng-missing-'));
    roots.push(parent);
    const missing = join(parent, 'release work', 'root');
    for (const argv of [['status'], ['history', 'x'], ['logs', 'x']]) {
      const { code, out } = await releng(...argv, '--root', missing);
      expect(code).toBe(2);
      expect(out.errors.join('\n')).toContain(`--root ${missing}: no such directory`);
    }
    const { existsSync } = await import('node:fs');
    expect(existsSync(missing)).toBe(false);
  });
});
