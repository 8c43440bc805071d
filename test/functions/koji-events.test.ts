import { SFNServiceException, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { createKojiEventsHandler } from '../../functions/koji-events/process.ts';
import { ComposeRequestV1 } from '../../shared/messages/compose-request.ts';
import { fakeStepFunctions } from './sfn-fake.ts';
import {
  bashBuild,
  batches,
  COMPOSE_ARN,
  captureLog,
  kojiEventsHandler,
  kojiTag,
  manualClock,
  sqsEvent,
  sqsRecord,
  tempStores,
  testConfig,
} from './support.ts';

let stores: Awaited<ReturnType<typeof tempStores>>;
let sfn: ReturnType<typeof fakeStepFunctions>;
let clock: ReturnType<typeof manualClock>;
let log: ReturnType<typeof captureLog>;
let handler: ReturnType<typeof createKojiEventsHandler>;

beforeEach(async () => {
  clock = manualClock();
  stores = await tempStores(clock);
  sfn = fakeStepFunctions();
  log = captureLog();
  handler = kojiEventsHandler(stores, sfn, clock, log);
});
afterEach(() => stores.cleanup());

describe('koji-events routing', () => {
  it('starts the compose of the lane the tag feeds, with a valid ComposeRequestV1', async () => {
    const response = await handler(sqsEvent([sqsRecord('a', bashBuild(1))]));
    expect(response.batchItemFailures).toEqual([]);
    const [start] = sfn.starts();
    expect(start?.stateMachineArn).toBe(COMPOSE_ARN);
    expect(start?.name).toBe('compose-8-Rocky-20261127T100000Z');
    const request = ComposeRequestV1.parse(JSON.parse(start!.input!));
    expect(request).toMatchObject({
      major: '8',
      channel: 'stable',
      composes: [{ name: 'Rocky', kind: 'updates' }],
      requestedBy: 'kojira',
      requestId: start?.name,
    });
    expect(request.reason).toContain('tag bash-4.4-1.el8');
    // 10 s into the 300 s window that started at 10:00:00: the compose waits out the other 290.
    expect(request.quietSeconds).toBe(290);
  });

  it('asks staging for the SIGs the config stages with that compose, and none with the others', async () => {
    const withSig = kojiEventsHandler(
      stores,
      sfn,
      clock,
      log,
      testConfig({ majors: { '8': { sigsStagedWith: { Rocky: ['kernel'] } } } }),
    );
    await withSig(
      sqsEvent([sqsRecord('a', bashBuild(1)), sqsRecord('b', bashBuild(1, 'dist-rocky8-extras-build'))]),
    );
    const sigsOf = Object.fromEntries(
      sfn.starts().map((s) => {
        const request = ComposeRequestV1.parse(JSON.parse(s.input!));
        return [request.composes[0]!.name, request.sigs];
      }),
    );
    expect(sigsOf).toEqual({ Rocky: ['kernel'], Extras: [] });
  });

  it('maps each configured tag to its own lane: 8/Extras and 9/Rocky', async () => {
    await handler(
      sqsEvent([
        sqsRecord('a', bashBuild(1, 'dist-rocky8-extras-build')),
        sqsRecord('b', bashBuild(1, 'dist-rocky9-updates-build')),
      ]),
    );
    expect(sfn.starts().map((s) => s.name)).toEqual([
      'compose-8-Extras-20261127T100000Z',
      'compose-9-Rocky-20261127T100000Z',
    ]);
  });

  it('acknowledges unknown tags and build state changes without failing or composing, and logs why', async () => {
    const stateChange = JSON.stringify({
      topic: 'buildsys.build.state.change',
      body: {
        attribute: 'state',
        old: 0,
        new: 1,
        info: { name: 'bash', version: '4.4', release: '1.el8', nvr: 'bash-4.4-1.el8' },
      },
    });
    const response = await handler(
      sqsEvent([sqsRecord('a', bashBuild(1, 'f39-updates-candidate')), sqsRecord('b', stateChange)]),
    );
    expect(response.batchItemFailures).toEqual([]);
    expect(sfn.starts()).toEqual([]);
    const reasons = log.lines.filter((l) => l.message === 'koji event acknowledged without compose');
    expect(reasons.map((l) => [l.messageId, l.reason])).toEqual([
      ['a', 'tag f39-updates-candidate feeds no configured lane'],
      ['b', 'build bash-4.4-1.el8 state BUILDING -> COMPLETE: no tag, nothing to compose'],
    ]);
  });
});

describe('koji-events coalescing', () => {
  it('turns 200 events of one lane in 20 batches into one StartExecution; a second lane gets a second', async () => {
    const bodies = Array.from({ length: 200 }, (_, i) => bashBuild(i));
    for (const event of batches(bodies)) {
      expect((await handler(event)).batchItemFailures).toEqual([]);
      clock.advance(1);
    }
    expect(sfn.mock.commandCalls(StartExecutionCommand)).toHaveLength(1);

    await handler(sqsEvent([sqsRecord('x', bashBuild(1, 'dist-rocky8-plus-build'))]));
    expect(sfn.starts().map((s) => s.name)).toEqual([
      'compose-8-Rocky-20261127T100000Z',
      'compose-8-Plus-20261127T100000Z',
    ]);
  });

  it('treats ExecutionAlreadyExists as coalesced, not as an error', async () => {
    sfn.executions.set('compose-8-Rocky-20261127T100000Z', { input: {}, status: 'RUNNING' });
    const response = await handler(sqsEvent([sqsRecord('a', bashBuild(1))]));
    expect(response.batchItemFailures).toEqual([]);
    expect(sfn.starts()).toHaveLength(1);
    expect(log.lines.find((l) => l.message === 'lane decided')).toMatchObject({
      action: 'coalesced',
      executionName: 'compose-8-Rocky-20261127T100000Z',
    });
  });

  it('starts exactly one follow-up compose after the compose that is running, whatever the number of events', async () => {
    await handler(sqsEvent([sqsRecord('a', bashBuild(1))]));
    const first = sfn.starts()[0]!.name!;
    // The compose state machine takes the lane lock with its execution id: it is composing now.
    await stores.locks.acquire(
      'lane:8/Rocky',
      `${COMPOSE_ARN.replace(':stateMachine:', ':execution:')}:${first}`,
      3600,
    );

    for (let round = 0; round < 5; round++) {
      clock.advance(600); // later quiet windows: without the lock these would be new composes
      await handler(sqsEvent([sqsRecord(`r${round}`, bashBuild(100 + round))]));
    }
    const names = sfn.starts().map((s) => s.name);
    expect(names).toHaveLength(2);
    expect(names[1]).toMatch(/^compose-8-Rocky-after-[0-9a-f]{12}$/);
    // It already waits for the running compose; it does not wait out a quiet window as well.
    expect(ComposeRequestV1.parse(JSON.parse(sfn.starts()[1]!.input!)).quietSeconds).toBe(0);

    // The first compose ends, the follow-up takes the lock and composes; new events queue the next one.
    sfn.finish(first);
    await stores.locks.release(
      'lane:8/Rocky',
      `${COMPOSE_ARN.replace(':stateMachine:', ':execution:')}:${first}`,
    );
    await stores.locks.acquire('lane:8/Rocky', names[1]!, 3600);
    await handler(sqsEvent([sqsRecord('late', bashBuild(200))]));
    expect(sfn.starts()).toHaveLength(3);
    expect(sfn.starts()[2]!.name).not.toBe(names[1]);
  });

  it('starts no follow-up for redelivered events the running compose already has', async () => {
    await handler(sqsEvent([sqsRecord('a', bashBuild(1))]));
    const first = sfn.starts()[0]!.name!;
    await stores.locks.acquire(
      'lane:8/Rocky',
      `${COMPOSE_ARN.replace(':stateMachine:', ':execution:')}:${first}`,
      3600,
    );
    clock.advance(600);
    expect((await handler(sqsEvent([sqsRecord('a-again', bashBuild(1))]))).batchItemFailures).toEqual([]);
    expect(sfn.starts()).toHaveLength(1);
    expect(log.lines.at(-1)).toMatchObject({
      action: 'skipped',
      reason: `the running compose ${first} already has this NVR set`,
    });
  });

  it('skips the compose when the tagged NVR set is unchanged since the last successful compose', async () => {
    await handler(sqsEvent([sqsRecord('a', bashBuild(1)), sqsRecord('b', bashBuild(2))]));
    sfn.finish(sfn.starts()[0]!.name!);
    clock.advance(3600);

    // Redelivered tags, and a tag undone by an untag: the set is what was composed.
    const response = await handler(
      sqsEvent([
        sqsRecord('c', bashBuild(2)),
        sqsRecord('d', bashBuild(3)),
        sqsRecord('e', bashBuild(3, 'dist-rocky8-updates-build', 'buildsys.untag')),
      ]),
    );
    expect(response.batchItemFailures).toEqual([]);
    expect(sfn.starts()).toHaveLength(1);
    expect(log.lines.at(-1)).toMatchObject({
      message: 'lane decided',
      action: 'skipped',
      reason: 'the tagged NVR set is unchanged since the last successful compose',
    });

    // A real change composes again.
    await handler(sqsEvent([sqsRecord('f', bashBuild(4))]));
    expect(sfn.starts()).toHaveLength(2);
  });

  it('composes again after a failed compose even if nothing new was tagged', async () => {
    await handler(sqsEvent([sqsRecord('a', bashBuild(1))]));
    sfn.finish(sfn.starts()[0]!.name!, 'FAILED');
    clock.advance(3600);
    await handler(sqsEvent([sqsRecord('b', bashBuild(1))]));
    expect(sfn.starts()).toHaveLength(2);
  });
});

describe('koji-events failures', () => {
  it('fails only the malformed records of a batch and names record and reason in the log', async () => {
    const hostile = kojiTag('dist-rocky8-updates-build', { name: 'bash;reboot', version: '1', release: '1' });
    const mismatched = JSON.stringify({
      topic: 'buildsys.tag',
      body: {
        tag: { name: 'dist-rocky8-updates-build' },
        build: { name: 'bash', version: '1', release: '1', nvr: 'other-1-1' },
        user: { name: 'kojira' },
      },
    });
    const response = await handler(
      sqsEvent([
        sqsRecord('good-1', bashBuild(1)),
        sqsRecord('bad-json', '{"topic": "buildsys.tag", '),
        sqsRecord('bad-topic', JSON.stringify({ topic: 'buildsys.repo.init', body: {} })),
        sqsRecord('bad-name', hostile),
        sqsRecord('bad-nvr', mismatched),
        sqsRecord('good-2', bashBuild(2)),
      ]),
    );
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([
      'bad-json',
      'bad-name',
      'bad-nvr',
      'bad-topic',
    ]);
    expect(sfn.starts()).toHaveLength(1);
    const reasons = Object.fromEntries(
      log.lines.filter((l) => l.message === 'koji event rejected').map((l) => [l.messageId, l.reason]),
    );
    expect(reasons['bad-json']).toMatch(/^body is not JSON/);
    expect(reasons['bad-topic']).toBe(
      'topic: topic must be buildsys.tag, buildsys.untag or buildsys.build.state.change',
    );
    expect(reasons['bad-name']).toBe('body.build.name: not a valid package name');
    expect(reasons['bad-nvr']).toBe('body.build.nvr: does not equal name-version-release (bash-1-1)');
  });

  it('fails the records of a lane whose StartExecution fails, so SQS retries them; other lanes go on', async () => {
    sfn.mock.on(StartExecutionCommand, { name: 'compose-8-Extras-20261127T100000Z' }).rejects(
      new SFNServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        message: 'Rate exceeded',
        $metadata: {},
      }),
    );
    const response = await handler(
      sqsEvent([
        sqsRecord('rocky', bashBuild(1)),
        sqsRecord('extras-1', bashBuild(1, 'dist-rocky8-extras-build')),
        sqsRecord('extras-2', bashBuild(2, 'dist-rocky8-extras-build')),
      ]),
    );
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['extras-1', 'extras-2']);
    expect(log.lines.filter((l) => l.message === 'koji event failed').map((l) => l.reason)).toEqual([
      'lane 8/Extras: ThrottlingException: Rate exceeded',
      'lane 8/Extras: ThrottlingException: Rate exceeded',
    ]);
  });

  it('reports every record of an all-bad batch instead of throwing', async () => {
    const response = await handler(
      sqsEvent([sqsRecord('a', ''), sqsRecord('b', 'null'), sqsRecord('c', '[]')]),
    );
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['a', 'b', 'c']);
  });
});
