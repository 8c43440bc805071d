import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localUser, openLocalSession } from '../../cli/engine/local-app.ts';
import { reportLockWaits } from '../../cli/engine/lock-waits.ts';
import { main } from '../../cli/main.ts';
import { PromotionRequestV1 } from '../../shared/messages/promotion.ts';
import { captureOutput } from '../engine/cli-output.ts';

/**
 * `releng withdraw`: the requester of a pending promotion takes it back and it ends NOT
 * PUBLISHED with the reason; someone who did not request it is refused and it keeps waiting.
 * The promotion state machine runs on the local engine up to its approval.
 */
const roots: string[] = [];
afterAll(() => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));

function request(requestedBy: string) {
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
        requestedBy,
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

/** A promotion requested by `requestedBy`, waiting for approval; `answer` runs at the approval. */
async function waitingPromotion(
  requestedBy: string,
  answer: (root: string, id: string, said: string[]) => Promise<void>,
) {
  const root = await mkdtemp(join(tmpdir(), 'releng-withdraw-'));
  roots.push(root);
  const answers: Promise<void>[] = [];
  const said: string[] = [];
  const session = await openLocalSession({
    root,
    waitMs: 50,
    listener: (e) => {
      if (e.kind === 'approval') answers.push(answer(root, `${e.execution}-0`, said));
    },
  });
  const stop = reportLockWaits(session.engine, (line) => said.push(line), {
    intervalMs: 50,
    approvals: session.adapters.approvals,
  });
  await session.engine.start('promotion', 'promote-withdraw', request(requestedBy));
  const done = session.engine.wait('promote-withdraw').finally(stop);
  return { root, session, done, answers, said };
}

describe('releng withdraw', () => {
  let mine: string;
  let refusal: { code: number; text: string } | undefined;
  let theirs: Awaited<ReturnType<typeof waitingPromotion>>;
  beforeAll(async () => {
    const own = await waitingPromotion(`${localUser()},kojira`, async (root, id) => {
      const r = await releng('withdraw', id, '--root', root, '--reason', 'wrong compose picked');
      expect(r.code, r.text).toBe(0);
      expect(r.text).toContain(`${id}: withdrawn by ${localUser()}; nothing is published`);
    });
    theirs = await waitingPromotion('kojira', async (root, id, said) => {
      while (said.length === 0) await new Promise((r) => setTimeout(r, 20));
      refusal = await releng('withdraw', id, '--root', root, '--reason', 'not mine to take back');
      // It still waits: its requester's colleague rejects it, so the test ends.
      const reject = await releng('reject', id, '--root', root, '--reason', 'cleanup');
      expect(reject.code, reject.text).toBe(0);
    });
    await Promise.all([own.done, theirs.done]);
    await Promise.all([...own.answers, ...theirs.answers]);
    mine = own.root;
  }, 240_000);

  it('ends the requester’s own promotion NOT PUBLISHED, with who withdrew it and why', async () => {
    const { code, text } = await releng('status', '--root', mine);
    expect(code).toBe(0);
    expect(text).toMatch(/^REJECTED +promotion +promote-withdraw /m);
    expect(text).toContain(`by ${localUser()}: withdrawn by the requester: wrong compose picked`);
    expect(text).not.toMatch(/SUCCEEDED/);
  });

  it('said once what the promotion waited for: whose request, since when, until when', () => {
    expect(theirs.said).toEqual([
      expect.stringMatching(
        /^waiting for a decision on promote-withdraw-0 \(Rocky 8\.10\), requested by kojira since \S+Z, until \S+Z$/,
      ),
    ]);
  });

  it('refuses someone who did not request it, naming the requester', () => {
    expect(refusal?.code).toBe(1);
    expect(refusal?.text).toContain(
      `${localUser()} did not request promote-withdraw-0 (requested by kojira)`,
    );
  });

  it('needs a reason', async () => {
    const r = await releng('withdraw', 'promote-withdraw-0', '--root', mine);
    expect(r.code).toBe(2);
    expect(r.text).toContain('withdraw needs --reason');
  });
});
