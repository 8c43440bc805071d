import { createHash } from 'node:crypto';
import { SendTaskFailureCommand, SendTaskSuccessCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DryRunLaneStateStore } from '../../cli/local/executions.ts';
import { SfnExecutionStarter, SfnTaskCallbacks } from '../../functions/adapters/sfn.ts';
import { createKojiEventsHandler } from '../../functions/koji-events/process.ts';
import { createPromotionEventsHandler } from '../../functions/promotion-events/process.ts';
import { LOCAL_PIPELINE_SENDERS } from '../../shared/approvals/staging-ready.ts';
import { stagingReady } from './approvals.ts';
import { fakeStepFunctions } from './sfn-fake.ts';
import {
  bashBuild,
  COMPOSE_ARN,
  captureLog,
  manualClock,
  PROMOTION_ARN,
  sqsEvent,
  sqsRecord,
  tempStores,
  testConfig,
} from './support.ts';

/** 1,000 batches of 10 bad bodies (plus one good record each): 10,000 bad bodies per handler. */
const RUNS = 1000;
const BAD_PER_BATCH = 10;

/**
 * Values no field these tests break accepts: not a name, digest or `version: 1` (the paths below
 * avoid counts and free-text reasons, which some of these would satisfy).
 */
const hostileValue = fc.oneof(
  fc.constantFrom(
    '',
    '$(reboot)',
    '; rm -rf / #',
    '`id`',
    '../../../etc/passwd',
    'a b',
    'x'.repeat(2000),
    'nul\u0000byte',
    'line\nbreak',
    '\u202egnp.exe',
    '😀',
    0,
    -1,
    1.5,
    null,
    true,
    [],
    {},
    { $gt: '' },
    ['buildsys.tag'],
  ),
  fc.integer({ min: 2 }),
  fc.array(fc.string(), { minLength: 1, maxLength: 3 }),
);

function setPath(target: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(target);
  let cursor: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) cursor = cursor[key] as Record<string, unknown>;
  cursor[path.at(-1)!] = value;
  return copy;
}

/**
 * Malformed and hostile bodies around a valid message: garbage, random JSON, one required field
 * broken or dropped (`paths` must name only required fields, or a drop could leave it valid).
 */
function badBodies(valid: Record<string, unknown>, paths: string[][]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.json({ maxDepth: 4 }),
    fc.anything({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'undefined'),
    fc
      .tuple(fc.constantFrom(...paths), hostileValue)
      .map(([path, value]) => JSON.stringify(setPath(valid, path, value))),
    fc.constantFrom(...paths).map((path) => JSON.stringify(setPath(valid, path, undefined))),
    fc.constantFrom(
      JSON.stringify({ ...valid, unexpected: 'field' }),
      `{"__proto__": ${JSON.stringify(valid)}}`,
      JSON.stringify(valid).slice(0, -1),
      `${'['.repeat(5000)}${']'.repeat(5000)}`,
      `"${'a'.repeat(300_000)}"`,
    ),
  );
}

function expectReasons(log: ReturnType<typeof captureLog>, ids: string[]) {
  const reasons = new Map(log.lines.filter((l) => l.level === 'error').map((l) => [l.messageId, l.reason]));
  for (const id of ids) {
    const reason = reasons.get(id);
    expect(typeof reason === 'string' && reason.length > 0 && reason.length <= 320, `reason for ${id}`).toBe(
      true,
    );
    expect(/[\p{Cc}]/u.test(reason as string), `control characters in ${JSON.stringify(reason)}`).toBe(false);
  }
}

let stores: Awaited<ReturnType<typeof tempStores>>;
const clock = manualClock();
beforeAll(async () => {
  stores = await tempStores(clock);
});
afterAll(() => stores.cleanup());

describe('fuzzing the SQS handlers', () => {
  it('koji-events: every bad body fails alone with a reason; the good record in its batch is decided once', async () => {
    const sfn = fakeStepFunctions();
    const decided: Array<{ laneId: string; events: number }> = [];
    let log = captureLog();
    const logProxy = {
      info: (m: string, f: Record<string, unknown>) => log.info(m, f),
      warn: (m: string, f: Record<string, unknown>) => log.warn(m, f),
      error: (m: string, f: Record<string, unknown>) => log.error(m, f),
    };
    const handler = createKojiEventsHandler(
      {
        config: testConfig(),
        // In-memory lane state over the real store: 1,000 batches without 1,000 fsyncs.
        lanes: new DryRunLaneStateStore(stores.lanes),
        locks: stores.locks,
        starter: new SfnExecutionStarter(sfn.client, { compose: COMPOSE_ARN }),
        clock,
      },
      logProxy,
      { decided: (o) => decided.push(o) },
    );
    const valid = JSON.parse(bashBuild(1)) as Record<string, unknown>;
    const paths = [
      ['topic'],
      ['body'],
      ['body', 'tag'],
      ['body', 'tag', 'name'],
      ['body', 'build'],
      ['body', 'build', 'name'],
      ['body', 'build', 'version'],
      ['body', 'build', 'release'],
      ['body', 'build', 'nvr'],
      ['body', 'user'],
      ['body', 'user', 'name'],
    ];
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(badBodies(valid, paths), { minLength: BAD_PER_BATCH, maxLength: BAD_PER_BATCH }),
        fc.nat(BAD_PER_BATCH),
        async (bad, goodAt) => {
          run++;
          log = captureLog();
          decided.length = 0;
          const records = bad.map((body, i) => sqsRecord(`bad-${i}`, body));
          records.splice(goodAt, 0, sqsRecord('good', bashBuild(10_000 + run)));
          const response = await handler(sqsEvent(records));
          const failed = response.batchItemFailures.map((f) => f.itemIdentifier).sort();
          const badIds = bad.map((_, i) => `bad-${i}`).sort();
          expect(failed).toEqual(badIds);
          expectReasons(log, badIds);
          expect(decided).toEqual([expect.objectContaining({ laneId: '8/Rocky', events: 1 })]);
        },
      ),
      { numRuns: RUNS },
    );
    expect(run).toBeGreaterThanOrEqual(RUNS);
  });

  it('promotion-events: every bad body fails alone with a reason; the good staging-ready starts once', async () => {
    const sfn = fakeStepFunctions();
    sfn.mock.on(SendTaskSuccessCommand).resolves({});
    sfn.mock.on(SendTaskFailureCommand).resolves({});
    let log = captureLog();
    const handler = createPromotionEventsHandler(
      {
        config: testConfig(),
        approvals: stores.approvals,
        callbacks: new SfnTaskCallbacks(sfn.client),
        starter: new SfnExecutionStarter(sfn.client, { promotion: PROMOTION_ARN }),
        clock,
      },
      {
        info: (m, f) => log.info(m, f),
        warn: (m, f) => log.warn(m, f),
        error: (m, f) => log.error(m, f),
      },
    );
    const ready = stagingReady() as unknown as Record<string, unknown>;
    const decision = {
      version: 1,
      type: 'approve',
      approvalId: 'promote-8-stable-x',
      digest: 'a'.repeat(64),
    };
    const readyPaths = [
      ['version'],
      ['type'],
      ['major'],
      ['channel'],
      ['revision'],
      ['digest'],
      ['summary'],
      ['summary', 'composeIds', '0'],
      ['summary', 'advisories', '0'],
      ['summary', 'diff'],
      ['requestedBy'],
    ];
    const decisionPaths = [['version'], ['type'], ['approvalId'], ['digest']];
    // A decision is refused (approval unknown, no SenderId) even when the fuzzer hits a valid one,
    // so every one of these must fail too, with a reason.
    const bad = fc.oneof(badBodies(ready, readyPaths), badBodies(decision, decisionPaths));
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(bad, { minLength: BAD_PER_BATCH, maxLength: BAD_PER_BATCH }),
        fc.nat(BAD_PER_BATCH),
        async (bodies, goodAt) => {
          run++;
          log = captureLog();
          sfn.mock.resetHistory();
          const digest = createHash('sha256').update(`run-${run}`).digest('hex');
          const records = bodies.map((body, i) => sqsRecord(`bad-${i}`, body));
          records.splice(
            goodAt,
            0,
            sqsRecord('good', JSON.stringify(stagingReady({ digest })), LOCAL_PIPELINE_SENDERS[0]),
          );
          const response = await handler(sqsEvent(records));
          const badIds = bodies.map((_, i) => `bad-${i}`).sort();
          expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(badIds);
          expectReasons(log, badIds);
          const starts = sfn.mock.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name);
          expect(starts).toEqual([`promote-8-stable-${digest.slice(0, 32)}`]);
        },
      ),
      { numRuns: RUNS },
    );
    expect(run).toBeGreaterThanOrEqual(RUNS);
  });
});
